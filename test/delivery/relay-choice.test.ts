// The round a row makes through its account's relays (pure logic): where it starts, where it goes
// on after a relay failed, and when every relay has failed and the attempt counts.
import { expect, test } from "vitest";
import type { AccountConfig } from "../../src/config/config.js";
import { afterAttempt, roundOf } from "../../src/delivery/relay-choice.js";

const account = (...names: string[]) => ({ relays: names.map((name) => ({ name, fileDir: "/tmp" })) }) as unknown as AccountConfig;
const ABC = account("a", "b", "c");
const fresh = { relay: null, relayHops: 0 };

test("a fresh row's round starts at the policy's start and wraps around", () => {
  expect(roundOf(ABC, fresh, 0).map((s) => s.index)).toEqual([0, 1, 2]);
  expect(roundOf(ABC, fresh, 2).map((s) => s.index)).toEqual([2, 0, 1]);
  expect(roundOf(ABC, fresh, 4).map((s) => s.index)).toEqual([1, 2, 0]);
});

test("a row a relay failed goes on from its relay with the relays left", () => {
  expect(roundOf(ABC, { relay: "b", relayHops: 1 }, 0)).toEqual([
    { index: 1, before: 0 },
    { index: 2, before: 1 },
  ]);
  expect(roundOf(ABC, { relay: "a", relayHops: 2 }, 0)).toEqual([{ index: 0, before: 0 }]);
});

test("a row whose relay is gone from the config starts a fresh round", () => {
  expect(roundOf(ABC, { relay: "old", relayHops: 2 }, 1).map((s) => s.index)).toEqual([1, 2, 0]);
});

test("a relay failure moves the row to the next relay until every relay of the round has failed", () => {
  expect(afterAttempt(ABC, fresh, { index: 0, before: 0 }, true)).toEqual({ used: "a", next: "b", hops: 1 });
  // a failed, then b skipped (its breaker open) and c failed: none is left.
  expect(afterAttempt(ABC, { relay: "b", relayHops: 1 }, { index: 2, before: 1 }, true)).toEqual({ used: "c", hops: 0 });
  expect(afterAttempt(ABC, { relay: "a", relayHops: 2 }, { index: 0, before: 0 }, true)).toEqual({ used: "a", hops: 0 });
  // Round robin started at c: c, a failed; b is left.
  expect(afterAttempt(ABC, { relay: "a", relayHops: 1 }, { index: 0, before: 0 }, true)).toEqual({ used: "a", next: "b", hops: 2 });
});

test("success or the message's own failure ends the round on the relay used", () => {
  expect(afterAttempt(ABC, { relay: "b", relayHops: 1 }, { index: 1, before: 0 }, false)).toEqual({ used: "b", hops: 0 });
});

test("one relay: its failure is the round's end", () => {
  expect(roundOf(account("default"), fresh, 7)).toEqual([{ index: 0, before: 0 }]);
  expect(afterAttempt(account("default"), fresh, { index: 0, before: 0 }, true)).toEqual({ used: "default", hops: 0 });
});
