// Which of an account's relays a claimed row's attempt may go to. A row moves through the relays
// in a round: from the relay its row names (or, for a row no relay has failed, the policy's first)
// onward, wrapping around, until each has failed once; its row holds where it is (relay,
// relay_hops), so the round goes on where it was after a crash. A pure function: the breaker's say
// is the caller's.
import type { AccountConfig } from "../config/config.js";
import type { ClaimedMessage } from "../outbox/types.js";

/** A relay of the round, by its place in the account's list, and the relays of the round before it. */
export interface RoundStep {
  index: number;
  /** Relays of the round tried before this one: skipped when this one is taken. */
  before: number;
}

/**
 * The relays the row may still try in this round, in order. `start` is where a fresh round
 * begins (failover: 0; round_robin: the next in turn). A row whose relay a reload removed starts
 * a fresh round.
 */
export function roundOf(account: AccountConfig, claim: Pick<ClaimedMessage, "relay" | "relayHops">, start: number): RoundStep[] {
  const n = account.relays.length;
  const named = claim.relay === null ? -1 : account.relays.findIndex((r) => r.name === claim.relay);
  const from = named >= 0 ? named : start % n;
  const hops = named >= 0 ? claim.relayHops : 0;
  const left = Math.max(1, n - hops);
  return Array.from({ length: left }, (_, k) => ({ index: (from + k) % n, before: k }));
}

/** Where the row stands after its attempt on `index`, having passed `before` relays of its round. */
export interface RelayOutcome {
  /** The relay the attempt went through (its events name it). */
  used: string;
  /** The relay failed and another of the round is left: the row goes to it at once, no attempt counted. */
  next?: string;
  /** relay_hops after the attempt, when it fails over. */
  hops: number;
}

export function afterAttempt(
  account: AccountConfig,
  claim: Pick<ClaimedMessage, "relay" | "relayHops">,
  step: RoundStep,
  relayFailed: boolean,
): RelayOutcome {
  const used = account.relays[step.index]!.name;
  if (!relayFailed) return { used, hops: 0 };
  const named = claim.relay !== null && account.relays.some((r) => r.name === claim.relay);
  const hops = (named ? claim.relayHops : 0) + step.before + 1;
  if (hops >= account.relays.length) return { used, hops: 0 };
  return { used, next: account.relays[(step.index + 1) % account.relays.length]!.name, hops };
}
