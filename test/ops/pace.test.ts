// Pacing as pure logic: the fleet-wide GCRA start slots (a burst, then one per 1/rate, only
// within the horizon, and carried on through the TAT), the local slow-down pause on a clock the
// test moves, and which SMTP replies count as "slow down".
import { describe, expect, test } from "vitest";
import { takeSlots } from "../../src/outbox/pace.js";
import { AccountPause, isSlowDownReply } from "../../src/delivery/slow-down.js";

describe("takeSlots", () => {
  const five = { maxPerSecond: 5, burst: 1, max: 100 };

  test("one slot per 1/rate, only as far as the horizon", () => {
    const { starts, tat } = takeSlots(0, 10_000, 1_000, five);
    expect(starts).toEqual([10_000, 10_200, 10_400, 10_600, 10_800, 11_000]);
    expect(tat).toBe(11_200);
  });

  test("the next claim (on any instance) continues from the TAT, not from its own now", () => {
    const first = takeSlots(0, 10_000, 1_000, five);
    const second = takeSlots(first.tat, 10_050, 2_000, five);
    expect(second.starts[0]).toBe(11_200);
    expect(second.starts.every((s, i, all) => i === 0 || s - all[i - 1]! === 200)).toBe(true);
  });

  test("a burst starts at once after a quiet spell, then the rate holds", () => {
    const { starts } = takeSlots(0, 10_000, 500, { maxPerSecond: 5, burst: 3, max: 100 });
    expect(starts).toEqual([10_000, 10_000, 10_000, 10_200, 10_400]);
  });

  test("a quiet spell saves no more than the burst", () => {
    const { starts } = takeSlots(5_000, 60_000, 0, { maxPerSecond: 5, burst: 2, max: 100 });
    expect(starts).toEqual([60_000, 60_000]);
  });

  test("at most max slots, and none when the horizon is already taken", () => {
    expect(takeSlots(0, 10_000, 10_000, { ...five, max: 3 }).starts).toHaveLength(3);
    expect(takeSlots(20_000, 10_000, 1_000, five).starts).toEqual([]);
  });
});

test("a pause holds starts for its length; a later pause extends it", () => {
  let now = 1_000;
  const pause = new AccountPause(() => now);
  expect(pause.remainingMs()).toBe(0);
  pause.pause(1_500);
  now += 500;
  expect(pause.remainingMs()).toBe(1_000);
  pause.pause(200);
  expect(pause.remainingMs()).toBe(1_000);
  now += 1_000;
  expect(pause.remainingMs()).toBe(0);
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
