// "Slow down" replies, and the pause they put an account in on this instance. Pacing by
// max_per_second is fleet-wide and lives with the outbox (src/outbox/pace.ts); a pause also holds
// that pace back. Times come from a monotonic clock: they pace SMTP traffic, not the outbox's
// due times.
import { performance } from "node:perf_hooks";

const monotonicMs = () => performance.now();

export class AccountPause {
  private pausedUntil = -Infinity;

  constructor(private readonly now: () => number = monotonicMs) {}

  /** ms until attempts of the account may start again; 0 when it is not paused. */
  remainingMs(): number {
    return Math.max(0, this.pausedUntil - this.now());
  }

  /** A "slow down" reply: nothing starts for `ms` (a later pause extends it, never shortens it). */
  pause(ms: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, this.now() + ms);
  }
}

interface SmtpReplyError {
  responseCode?: unknown;
  response?: unknown;
}

/**
 * A reply that asks the client to slow down for the whole account rather than refusing one
 * message: 421 (service closing the channel, e.g. "too many connections or messages"), or any
 * 4xx reply whose enhanced status is 4.7.x (policy: rate limits, "try again later").
 */
export function isSlowDownReply(err: unknown): boolean {
  if (typeof err !== "object" || err === null) return false;
  const { responseCode, response } = err as SmtpReplyError;
  if (responseCode === 421) return true;
  return (
    typeof responseCode === "number" &&
    responseCode >= 400 &&
    responseCode < 500 &&
    typeof response === "string" &&
    /^4\d\d[ -]4\.7\.\d{1,3}\b/.test(response)
  );
}
