// Per-account pacing on this instance: a token bucket for rate_limit.max_per_second, and a pause
// after a "slow down" reply. Each instance paces on its own, so N instances send up to N × the rate.
// Times come from a monotonic clock: they pace SMTP traffic, not the outbox's due times.
import { performance } from "node:perf_hooks";
import { DEFAULT_SLOW_DOWN_PAUSE_MS, type RateLimitConfig } from "../config.js";

const monotonicMs = () => performance.now();

export class AccountPace {
  private tokens: number;
  /** When `tokens` was last brought up to date (or, while paused, when refilling resumes). */
  private at: number;
  private pausedUntil = -Infinity;
  /** The last start time promised to a claim handed back to wait for its turn. */
  private booked = -Infinity;

  constructor(
    private limits: RateLimitConfig | undefined,
    private readonly now: () => number = monotonicMs,
  ) {
    this.at = now();
    this.tokens = limits?.burst ?? 1;
  }

  /** A reloaded config: the tokens saved so far are kept, up to the new burst. */
  setLimits(limits: RateLimitConfig | undefined): void {
    this.refill();
    this.limits = limits;
    this.tokens = Math.min(this.tokens, limits?.burst ?? 1);
  }

  /** ms until the next attempt may start; 0 means now. */
  waitMs(): number {
    return this.estimateMs(0);
  }

  /** An attempt starts now. Call only when waitMs() is 0. */
  take(): void {
    this.refill();
    if (this.limits?.maxPerSecond !== undefined) this.tokens -= 1;
  }

  /**
   * ms until the attempt with `ahead` others queued before it could start, if the only waits were
   * the pause and the tokens (connections and SMTP time are not counted).
   */
  estimateMs(ahead: number): number {
    this.refill();
    const now = this.now();
    const start = Math.max(now, this.pausedUntil);
    const rate = this.limits?.maxPerSecond;
    const missing = ahead + 1 - this.tokens;
    return start - now + (rate === undefined || missing <= 0 ? 0 : (missing * 1000) / rate);
  }

  /**
   * A start time for a claim handed back because its turn is too far off: after `ahead` queued
   * attempts and after every start time promised before, so handed-back claims come back one
   * token apart instead of all at once. Returns ms from now.
   */
  bookMs(ahead: number): number {
    const now = this.now();
    const rate = this.limits?.maxPerSecond;
    const slot = Math.max(now + this.estimateMs(ahead), rate === undefined ? -Infinity : this.booked + 1000 / rate);
    this.booked = slot;
    return slot - now;
  }

  /** A "slow down" reply: nothing starts for slow_down_pause_ms, then pacing starts from empty. */
  pause(): number {
    const ms = this.limits?.slowDownPauseMs ?? DEFAULT_SLOW_DOWN_PAUSE_MS;
    this.pausedUntil = Math.max(this.pausedUntil, this.now() + ms);
    this.tokens = 0;
    this.at = this.pausedUntil;
    return ms;
  }

  private refill(): void {
    const now = this.now();
    const rate = this.limits?.maxPerSecond;
    const burst = this.limits?.burst ?? 1;
    if (now > this.at) {
      this.tokens = rate === undefined ? burst : Math.min(burst, this.tokens + ((now - this.at) * rate) / 1000);
      this.at = now;
    }
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
  return typeof responseCode === "number" && responseCode >= 400 && responseCode < 500 &&
    typeof response === "string" && /^4\d\d[ -]4\.7\.\d{1,3}\b/.test(response);
}
