// A clock the test moves by hand, for backoff and due-time traces.
import type { Clock } from "../../src/db/clock.js";

export class ManualClock implements Clock {
  constructor(private ms: number) {}
  now(): number {
    return this.ms;
  }
  set(ms: number): void {
    this.ms = ms;
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}
