// What every benchmark phase gets and gives back.
import type { Slice } from "./budget.js";
import type { Line } from "./report.js";
import type { Settings } from "./settings.js";
import type { BenchSink } from "./sink.js";

export interface PhaseContext {
  sink: BenchSink;
  s: Settings;
  /** A Redis server answered: the BullMQ peer can run. */
  redis: boolean;
  /** This phase's share of the time budget. */
  slice: Slice;
}

export interface PhaseResult {
  lines: Line[];
  /** Skipped rows, shortened repetitions, and what explains a figure. */
  notes: string[];
}
