// The retry schedule of reference-behaviour.md §3: 5 s × 2^min(retries, 10), retries counted
// after the failure.
import { expect, test } from "vitest";
import { backoffMs } from "../../src/delivery/backoff.js";

test("retries 1..12 wait 10, 20, 40 … 5120 s, then stay at 5120 s", () => {
  const seconds = Array.from({ length: 12 }, (_, i) => backoffMs(i + 1) / 1000);
  expect(seconds).toEqual([10, 20, 40, 80, 160, 320, 640, 1280, 2560, 5120, 5120, 5120]);
});

test("the cap holds for large retry counts", () => {
  expect(backoffMs(25)).toBe(5_120_000);
  expect(backoffMs(1000)).toBe(5_120_000);
});
