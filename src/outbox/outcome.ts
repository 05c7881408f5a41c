// What an attempt leaves its row as. Which transition the attempt's outcome takes is decided here;
// what that transition does to the row (the status it enters, whether the attempt counts, whether
// the next attempt carries the next Message-ID) is read from the lifecycle table.
import { TRANSITIONS, allows, requeuedStatus, type Transition, type TransitionName } from "./lifecycle.js";
import type { AttemptOutcome, ClaimedMessage } from "./types.js";

/** The transition each status an attempt can leave its row in is entered by (all from SENDING). */
export const ATTEMPT_TRANSITIONS = { sent: "accepted", failed: "transient", dead: "permanent" } as const satisfies Record<
  string,
  TransitionName
>;

export type AttemptStatus = keyof typeof ATTEMPT_TRANSITIONS;
type AttemptTransition = (typeof ATTEMPT_TRANSITIONS)[AttemptStatus] | "failover";

/** The relay an attempt went through, and where its row stands in its round of relays after it (relay-choice.ts). */
export interface RelayStep {
  used: string;
  /** Another relay of the round is left: a relay failure moves the row to it at once. */
  next?: string;
  /** relay_hops after a failover. */
  hops: number;
}

/** What an attempt left the row as; written only while the lease is still ours. */
export interface Finalization {
  id: number;
  accountId: number;
  leaseToken: number;
  messageId: string;
  /** PENDING (or FAILED) again after a failover; see `transition`. */
  status: AttemptStatus | "pending";
  /** The transition written; by default the one that enters `status`. */
  transition?: AttemptTransition;
  retries: number;
  /** The number the next attempt's Message-ID carries; by default `retries`. */
  messageSeq?: number;
  nextAttemptAt: number | null;
  providerMessageId: string | null;
  error: string | null;
  errorClass: string | null;
  /**
   * The relay the attempt went through (its event names it) and the row's relay and relay_hops
   * after it: the next relay after a failover, the relay used otherwise, none (start the round
   * over) when every relay failed. Without it the row's are left as they are.
   */
  relay?: { used: string; row: string | null; hops: number };
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

/**
 * Accepted; a failover when the relay failed and another is left; else a transient failure,
 * unless it is permanent or it used up the last attempt.
 */
export function attemptTransition(retries: number, outcome: AttemptOutcome, maxAttempts: number, relay?: RelayStep): AttemptTransition {
  if (outcome.kind === "sent") return "accepted";
  if (outcome.relayLevel && relay?.next !== undefined) return "failover";
  return outcome.permanent || retriesAfter("transient", retries) >= maxAttempts ? "permanent" : "transient";
}

/** The row after the attempt, fenced by the claim's lease. */
export function finalization(
  claim: ClaimedMessage,
  outcome: AttemptOutcome,
  now: number,
  rules: RetryRules,
  relay?: RelayStep,
): Finalization {
  const name = attemptTransition(claim.retries, outcome, rules.maxAttempts, relay);
  const failover = name === "failover";
  // A failover puts the row back in the queue as a hand-back does: PENDING until an attempt has counted.
  const status = failover ? (requeuedStatus(claim.retries) as "pending" | "failed") : TRANSITIONS[name].to[0];
  const retries = retriesAfter(name, claim.retries);
  const unknown = outcome.kind === "failed" && outcome.ambiguous === true;
  const relayFailed = outcome.kind === "failed" && outcome.relayLevel === true;
  return {
    id: claim.id,
    accountId: claim.accountId,
    leaseToken: claim.leaseToken,
    messageId: claim.messageId,
    status,
    ...(failover || relay ? { transition: name } : {}),
    retries,
    messageSeq: nextMessageId(TRANSITIONS[name], unknown) ? retries : claim.messageSeq,
    // A status claims take rows from is due again after the backoff; after a failover at once, on the next relay.
    nextAttemptAt: failover ? now : allows("claim", status) ? now + rules.backoffMs(retries) : null,
    providerMessageId: outcome.kind === "sent" ? outcome.providerMessageId : null,
    error: outcome.kind === "failed" ? outcome.error : null,
    errorClass: outcome.kind === "failed" ? outcome.errorClass : null,
    ...(relay
      ? { relay: { used: relay.used, row: failover ? relay.next! : relayFailed ? null : relay.used, hops: failover ? relay.hops : 0 } }
      : {}),
  };
}
