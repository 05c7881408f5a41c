// Keeps a run inside its time budget: each phase gets a share of what is left, and a phase
// starts another repetition only if the last one would still fit. Every phase runs at least
// once, so on a slow or busy machine a run has fewer repetitions (and says so) rather than none.
import { progress } from "./progress.js";

export class Budget {
  private readonly deadline: number;
  private weightLeft: number;

  constructor(totalMs: number, weights: number[]) {
    this.deadline = Date.now() + totalMs;
    this.weightLeft = weights.reduce((a, b) => a + b, 0);
  }

  /** The time a phase of this weight may use, from now: its share of what is left. */
  slice(weight: number): Slice {
    const share = (Math.max(0, this.deadline - Date.now()) * weight) / this.weightLeft;
    this.weightLeft -= weight;
    return new Slice(Date.now() + share);
  }
}

export class Slice {
  private roundStart = Date.now();
  private rounds = 0;

  constructor(readonly endsAt: number) {}

  /**
   * Call before each round: false when `reps` rounds are done, or when another round as long as
   * the last would overrun the slice (the first round always runs).
   */
  another(reps: number, label: string, notes: string[]): boolean {
    const now = Date.now();
    const last = now - this.roundStart;
    this.roundStart = now;
    if (this.rounds >= reps) return false;
    if (this.rounds > 0 && now + last > this.endsAt) {
      const note = `${label}: ${this.rounds} of ${reps} repetitions, to stay within the time budget (a round took ${(last / 1000).toFixed(0)} s).`;
      progress(note);
      notes.push(note);
      return false;
    }
    this.rounds++;
    return true;
  }

  get round(): number {
    return this.rounds;
  }
}
