// Figures from repeated runs: percentiles of one run's samples, and median/min/max across runs.

/** A figure measured in several repetitions. */
export interface Figure {
  median: number;
  min: number;
  max: number;
  /** Every repetition's value, in run order. */
  runs: number[];
}

/** The p-th percentile (0..100) by nearest rank; NaN for no samples. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

/** The middle value; with an even count, the mean of the two middle values. */
export function median(samples: readonly number[]): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function figure(runs: readonly number[]): Figure {
  const finite = runs.filter((r) => Number.isFinite(r));
  return {
    median: median(finite),
    min: finite.length ? Math.min(...finite) : NaN,
    max: finite.length ? Math.max(...finite) : NaN,
    runs: [...runs],
  };
}

/** Per-repetition ratios a[i] / b[i] (paired runs of one round), as a figure. */
export function ratio(a: Figure, b: Figure): Figure {
  return figure(a.runs.map((v, i) => v / (b.runs[i] ?? NaN)));
}
