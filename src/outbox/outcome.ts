// What an attempt leaves its row as. Which transition the attempt's outcome takes is decided here;
// what that transition does to the row (the status it enters, whether the attempt counts, whether
// the next attempt carries the next Message-ID) is read from the lifecycle table.
import { TRANSITIONS, allows, type Transition, type TransitionName } from "./lifecycle.js";
import type { AttemptOutcome, ClaimedMessage } from "./types.js";

/** The transition each status an attempt can leave its row in is entered by (all from SENDING). */
export const ATTEMPT_TRANSITIONS = { sent: "accepted", failed: "transient", dead: "permanent" } as const satisfies Record<string, TransitionName>;

export type AttemptStatus = keyof typeof ATTEMPT_TRANSITIONS;
type AttemptTransition = (typeof ATTEMPT_TRANSITIONS)[AttemptStatus];

/** What an attempt left the row as; written only while the lease is still ours. */
export interface Finalization {
  id: number;
  accountId: number;
  leaseToken: number;
  messageId: string;
  status: AttemptStatus;
  retries: number;
  /** The number the next attempt's Message-ID carries; by default `retries`. */
  messageSeq?: number;
  nextAttemptAt: number | null;
  providerMessageId: string | null;
  error: string | null;
  errorClass: string | null;
}

/** The sender's retry settings. */
export interface RetryRules {
  /** sender.max_attempts: the attempt that reaches it is the last. */
  maxAttempts: number;
  /** The wait before the next attempt, by `retries` after the failure. */
  backoffMs: (retries: number) => number;
}

function retriesAfter(name: AttemptTransition, retries: number): number {
  return TRANSITIONS[name].countsAttempt ? retries + 1 : retries;
}

/** Whether the next attempt carries the next Message-ID. */
function nextMessageId(t: Transition, outcomeUnknown: boolean): boolean {
  // After an unknown outcome the server may hold this copy: its retry must be recognisable as it.
  return t.newMessageId === "yes" || (t.newMessageId === "unless the outcome is unknown" && !outcomeUnknown);
}

/** Accepted; else a transient failure, unless it is permanent or it used up the last attempt. */
export function attemptTransition(retries: number, outcome: AttemptOutcome, maxAttempts: number): AttemptTransition {
  if (outcome.kind === "sent") return "accepted";
  return outcome.permanent || retriesAfter("transient", retries) >= maxAttempts ? "permanent" : "transient";
}

/** The row after the attempt, fenced by the claim's lease. */
export function finalization(claim: ClaimedMessage, outcome: AttemptOutcome, now: number, rules: RetryRules): Finalization {
  const name = attemptTransition(claim.retries, outcome, rules.maxAttempts);
  const [status] = TRANSITIONS[name].to;
  const retries = retriesAfter(name, claim.retries);
  const unknown = outcome.kind === "failed" && outcome.ambiguous === true;
  return {
    id: claim.id,
    accountId: claim.accountId,
    leaseToken: claim.leaseToken,
    messageId: claim.messageId,
    status,
    retries,
    messageSeq: nextMessageId(TRANSITIONS[name], unknown) ? retries : claim.messageSeq,
    // A status claims take rows from is due again after the backoff.
    nextAttemptAt: allows("claim", status) ? now + rules.backoffMs(retries) : null,
    providerMessageId: outcome.kind === "sent" ? outcome.providerMessageId : null,
    error: outcome.kind === "failed" ? outcome.error : null,
    errorClass: outcome.kind === "failed" ? outcome.errorClass : null,
  };
}
