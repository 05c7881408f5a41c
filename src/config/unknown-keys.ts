// Unknown config keys are refused, never ignored: a typo would otherwise fall back to a default
// silently. The error names the full path and, when a known key is close, suggests it.
/** The error for the first key of obj not in known ("`${prefix}${key}: unknown setting (did you mean …?)`"), if any. */
export function unknownKey(obj: object, prefix: string, known: readonly string[]): string | undefined {
  const key = Object.keys(obj).find((k) => !known.includes(k));
  if (key === undefined) return undefined;
  const near = closest(key, known);
  return `${prefix}${key}: unknown setting${near ? ` (did you mean ${near}?)` : ""}`;
}

/** The known key within a small edit distance of key (a typo, not another word), if any. */
export function closest(key: string, known: readonly string[]): string | undefined {
  const limit = Math.max(2, Math.floor(key.length / 4));
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const candidate of known) {
    const d = editDistance(key.toLowerCase(), candidate);
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

/** Levenshtein distance, one row at a time. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = row;
  }
  return previous[b.length]!;
}
