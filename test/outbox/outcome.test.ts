// An attempt's outcome as its row's next state: a pure function over the lifecycle table, so the
// transition it picks must be one the table draws, and the row must change as that entry says.
import { expect, test } from "vitest";
import { TRANSITIONS, type Transition } from "../../src/outbox/lifecycle.js";
import { ATTEMPT_TRANSITIONS, attemptTransition, finalization, type AttemptStatus, type RetryRules } from "../../src/outbox/outcome.js";
import type { AttemptOutcome, ClaimedMessage } from "../../src/outbox/types.js";

const NOW = 1_700_000_000_000;
const rules: RetryRules = { maxAttempts: 5, backoffMs: (retries) => retries * 1_000 };

function claim(retries: number, messageSeq = retries): ClaimedMessage {
  return { id: 7, accountId: 2, leaseToken: 99, messageId: `<outbox-7-${messageSeq}@example.com>`, retries, messageSeq } as ClaimedMessage;
}

const sent: AttemptOutcome = { kind: "sent", providerMessageId: "smtp-250 ok" };
const transient: AttemptOutcome = { kind: "failed", error: "451 try later", errorClass: "SMTP_TRANSIENT", permanent: false };
const permanent: AttemptOutcome = { kind: "failed", error: "550 no such user", errorClass: "SMTP_PERMANENT", permanent: true };
const unknown: AttemptOutcome = { kind: "failed", error: "socket closed", errorClass: "NETWORK", permanent: false, ambiguous: true };
const relayDown: AttemptOutcome = {
  kind: "failed",
  error: "connect ECONNREFUSED",
  errorClass: "NETWORK",
  permanent: false,
  relayLevel: true,
};

test("each status an attempt leaves is entered from SENDING by the transition that names it", () => {
  for (const [status, name] of Object.entries(ATTEMPT_TRANSITIONS)) {
    expect(TRANSITIONS[name].from).toEqual(["sending"]);
    expect(TRANSITIONS[name].to).toEqual([status]);
  }
});

test("accepted: SENT with the provider's id, the attempt not counted, the Message-ID kept, nothing due", () => {
  expect(finalization(claim(2), sent, NOW, rules)).toEqual({
    id: 7,
    accountId: 2,
    leaseToken: 99,
    messageId: "<outbox-7-2@example.com>",
    status: "sent",
    retries: 2,
    messageSeq: 2,
    nextAttemptAt: null,
    providerMessageId: "smtp-250 ok",
    error: null,
    errorClass: null,
  });
});

test("a transient failure: FAILED, the attempt counted, the next Message-ID, due after the backoff of the new count", () => {
  expect(finalization(claim(1), transient, NOW, rules)).toEqual({
    id: 7,
    accountId: 2,
    leaseToken: 99,
    messageId: "<outbox-7-1@example.com>",
    status: "failed",
    retries: 2,
    messageSeq: 2,
    nextAttemptAt: NOW + 2_000,
    providerMessageId: null,
    error: "451 try later",
    errorClass: "SMTP_TRANSIENT",
  });
});

test("an unknown outcome counts the attempt but keeps the Message-ID, so the retry is recognisable as the same copy", () => {
  const fin = finalization(claim(1, 0), unknown, NOW, rules);
  expect(fin).toMatchObject({ status: "failed", retries: 2, messageSeq: 0, errorClass: "NETWORK" });
});

test("a permanent failure is DEAD at once, with nothing due", () => {
  expect(finalization(claim(0), permanent, NOW, rules)).toMatchObject({
    status: "dead",
    retries: 1,
    messageSeq: 1,
    nextAttemptAt: null,
    error: "550 no such user",
    errorClass: "SMTP_PERMANENT",
  });
});

test("the attempt that reaches max_attempts is the last: a transient failure then is DEAD", () => {
  expect(attemptTransition(rules.maxAttempts - 2, transient, rules.maxAttempts)).toBe("transient");
  expect(attemptTransition(rules.maxAttempts - 1, transient, rules.maxAttempts)).toBe("permanent");
  expect(finalization(claim(rules.maxAttempts - 1), transient, NOW, rules)).toMatchObject({
    status: "dead",
    retries: rules.maxAttempts,
    nextAttemptAt: null,
  });
  // A success on the last attempt is still a success.
  expect(attemptTransition(rules.maxAttempts - 1, sent, rules.maxAttempts)).toBe("accepted");
});

test("every outcome changes retries and the Message-ID exactly as its transition's entry says", () => {
  for (const outcome of [sent, transient, permanent, unknown, relayDown]) {
    for (const retries of [0, 3, 4]) {
      const before = claim(retries);
      const fin = finalization(
        before,
        outcome,
        NOW,
        rules,
        outcome === relayDown ? { used: "primary", next: "backup", hops: 1 } : undefined,
      );
      const t: Transition = TRANSITIONS[fin.transition ?? ATTEMPT_TRANSITIONS[fin.status as AttemptStatus]];
      expect(fin.retries - before.retries).toBe(t.countsAttempt ? 1 : 0);
      const moved = t.newMessageId === "yes" || (t.newMessageId === "unless the outcome is unknown" && outcome !== unknown);
      expect(fin.messageSeq).toBe(moved ? fin.retries : before.messageSeq);
    }
  }
});

test("a relay failure with another relay left: a failover, due at once on the next relay, no attempt counted, the same Message-ID", () => {
  expect(finalization(claim(0), relayDown, NOW, rules, { used: "primary", next: "backup", hops: 1 })).toEqual({
    id: 7,
    accountId: 2,
    leaseToken: 99,
    messageId: "<outbox-7-0@example.com>",
    status: "pending",
    transition: "failover",
    retries: 0,
    messageSeq: 0,
    nextAttemptAt: NOW,
    providerMessageId: null,
    error: "connect ECONNREFUSED",
    errorClass: "NETWORK",
    relay: { used: "primary", row: "backup", hops: 1 },
  });
  // After a counted attempt the row goes back to FAILED, as a hand-back does.
  expect(finalization(claim(2), relayDown, NOW, rules, { used: "primary", next: "backup", hops: 1 })).toMatchObject({
    status: "failed",
    transition: "failover",
    retries: 2,
  });
});

test("a relay failure with no relay left counts as the failure it is, and starts the next round over", () => {
  expect(finalization(claim(0), relayDown, NOW, rules, { used: "backup", hops: 0 })).toMatchObject({
    status: "failed",
    transition: "transient",
    retries: 1,
    messageSeq: 1,
    nextAttemptAt: NOW + 1_000,
    relay: { used: "backup", row: null, hops: 0 },
  });
});

test("a recipient's refusal stays with the relay that gave it; a success records the relay that accepted", () => {
  expect(finalization(claim(0), permanent, NOW, rules, { used: "primary", next: "backup", hops: 1 })).toMatchObject({
    status: "dead",
    transition: "permanent",
    relay: { used: "primary", row: "primary", hops: 0 },
  });
  expect(finalization(claim(0), sent, NOW, rules, { used: "backup", hops: 0 })).toMatchObject({
    status: "sent",
    relay: { used: "backup", row: "backup", hops: 0 },
  });
});
