// The retry schedule: 5 s × 2^min(retries, 10), with retries counted after the failure
// (10 s, 20 s, 40 s … 5120 s).

export function backoffMs(retriesAfterFailure: number): number {
  return 5_000 * 2 ** Math.min(retriesAfterFailure, 10);
}
