// The per-account pace on its own, on a clock the test moves: token bucket, slow-down pause,
// booked turns for handed-back claims, and which SMTP replies count as "slow down".
import { describe, expect, test } from "vitest";
import { AccountPace, isSlowDownReply } from "../../src/sender/rate-limit.js";

function paceAt(limits: ConstructorParameters<typeof AccountPace>[0]) {
  let now = 1_000;
  const pace = new AccountPace(limits, () => now);
  return { pace, advance: (ms: number) => (now += ms) };
}

describe("AccountPace", () => {
  test("a burst starts at once, then one attempt per 1/rate", () => {
    const { pace, advance } = paceAt({ maxPerSecond: 10, burst: 2, slowDownPauseMs: 30_000 });
    for (let i = 0; i < 2; i++) {
      expect(pace.waitMs()).toBe(0);
      pace.take();
    }
    expect(pace.waitMs()).toBeCloseTo(100);
    advance(60);
    expect(pace.waitMs()).toBeCloseTo(40);
    advance(40);
    expect(pace.waitMs()).toBe(0);
    pace.take();
    // Idle time refills up to the burst, never beyond it.
    advance(10_000);
    expect(pace.estimateMs(1)).toBe(0);
    expect(pace.estimateMs(2)).toBeCloseTo(100);
  });

  test("without max_per_second only a pause holds attempts back", () => {
    const { pace, advance } = paceAt({ burst: 1, slowDownPauseMs: 2_000 });
    for (let i = 0; i < 100; i++) pace.take();
    expect(pace.waitMs()).toBe(0);
    expect(pace.estimateMs(50)).toBe(0);
    expect(pace.pause()).toBe(2_000);
    expect(pace.waitMs()).toBe(2_000);
    advance(1_500);
    expect(pace.estimateMs(10)).toBe(500);
    advance(500);
    expect(pace.waitMs()).toBe(0);
  });

  test("after a pause pacing starts from an empty bucket", () => {
    const { pace, advance } = paceAt({ maxPerSecond: 4, burst: 4, slowDownPauseMs: 1_000 });
    pace.pause();
    expect(pace.waitMs()).toBe(1_000 + 250);
    advance(1_250);
    expect(pace.waitMs()).toBe(0);
  });

  test("handed-back claims are booked one token apart, after those queued", () => {
    const { pace } = paceAt({ maxPerSecond: 2, burst: 1, slowDownPauseMs: 30_000 });
    // One token now; three queued ahead take until 1.5 s.
    expect(pace.bookMs(3)).toBe(1_500);
    expect(pace.bookMs(3)).toBe(2_000);
    expect(pace.bookMs(0)).toBe(2_500);
  });

  test("a reload keeps the saved tokens up to the new burst", () => {
    const { pace } = paceAt({ maxPerSecond: 1, burst: 5, slowDownPauseMs: 30_000 });
    pace.setLimits({ maxPerSecond: 1, burst: 2, slowDownPauseMs: 30_000 });
    expect(pace.estimateMs(1)).toBe(0);
    expect(pace.estimateMs(2)).toBe(1_000);
    pace.setLimits(undefined);
    expect(pace.estimateMs(100)).toBe(0);
  });
});

test("421 and 4xx replies with an enhanced status 4.7.x are slow-down replies; others are not", () => {
  expect(isSlowDownReply({ responseCode: 421, response: "421 4.3.2 Service shutting down" })).toBe(true);
  expect(isSlowDownReply({ responseCode: 421, response: "421 Too many connections" })).toBe(true);
  expect(isSlowDownReply({ responseCode: 450, response: "450 4.7.1 Rate limited, slow down" })).toBe(true);
  expect(isSlowDownReply({ responseCode: 451, response: "451-4.7.28 Unusual rate of mail\n451 4.7.28 Try later" })).toBe(true);
  expect(isSlowDownReply({ responseCode: 451, response: "451 4.3.0 Temporary failure" })).toBe(false);
  expect(isSlowDownReply({ responseCode: 550, response: "550 5.7.1 Relaying denied" })).toBe(false);
  expect(isSlowDownReply({ code: "ECONNRESET" })).toBe(false);
  expect(isSlowDownReply(new Error("421 in a message is not a reply"))).toBe(false);
  expect(isSlowDownReply(undefined)).toBe(false);
});
