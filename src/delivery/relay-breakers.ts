// The fleet's relay breakers as this sender sees them: read from relay_breaker at most once per
// maxAgeMs, updated at once by this sender's own outcomes. A relay whose breaker is open is
// skipped; once its cool-down has passed one sender of the fleet takes the trial attempt.
import type { AccountConfig } from "../config/config.js";
import type { Clock } from "../db/clock.js";
import type { Pool } from "../db/pool.js";
import type { Logger } from "../lib/log.js";
import { readBreakers, recordRelayFailure, recordRelaySuccess, takeTrial, type BreakerRow } from "../outbox/relay-breaker.js";

export type BreakerState = "closed" | "open" | "half_open";

/** A breaker that is not closed, as /readyz and the metrics show it. */
export interface OpenBreaker {
  accountId: number;
  relay: string;
  state: Exclude<BreakerState, "closed">;
  openUntil: number;
}

const keyOf = (accountId: number, relay: string) => `${accountId}/${relay}`;

export class RelayBreakers {
  private rows = new Map<string, BreakerRow>();
  private readAt = -Infinity;
  private reading?: Promise<void>;

  constructor(
    private readonly pool: Pool,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly maxAgeMs: () => number,
  ) {}

  /** Reads the table again when this sender's copy is older than maxAgeMs (one read at a time). */
  async fresh(): Promise<void> {
    if (this.clock.now() - this.readAt < this.maxAgeMs()) return;
    this.reading ??= readBreakers(this.pool)
      .then((rows) => {
        this.rows = new Map(rows.map((r) => [keyOf(r.accountId, r.relay), r]));
        this.readAt = this.clock.now();
      })
      // An unreadable table leaves the last copy: relays are tried as it says.
      .catch((err: Error) => this.log.warn({ err: err.message }, "could not read the relay breakers"))
      .finally(() => (this.reading = undefined));
    await this.reading;
  }

  state(accountId: number, relay: string): BreakerState {
    const openUntil = this.rows.get(keyOf(accountId, relay))?.openUntil ?? null;
    if (openUntil === null) return "closed";
    return openUntil > this.clock.now() ? "open" : "half_open";
  }

  /**
   * Whether the relay may take an attempt now: its breaker is closed, or its cool-down has passed
   * and this sender won the trial.
   */
  async admits(account: AccountConfig, relay: string): Promise<boolean> {
    const state = this.state(account.id, relay);
    if (state === "closed") return true;
    if (state === "open") return false;
    const now = this.clock.now();
    const won = await takeTrial(this.pool, account.id, relay, now, account.relayBreaker.coolDownMs).catch((err: Error) => {
      this.log.warn({ account_id: account.id, relay, err: err.message }, "could not take the relay's trial attempt");
      return false;
    });
    // Won or lost, the breaker is open for another cool-down unless the trial closes it.
    this.remember(account.id, relay, (row) => ({ ...row, openUntil: now + account.relayBreaker.coolDownMs }));
    if (won) this.log.info({ account_id: account.id, relay }, "relay breaker half-open: trying the relay with one attempt");
    return won;
  }

  /** When the earliest of these relays' breakers lets an attempt try it again (ms, service clock). */
  reopensAt(accountId: number, relays: readonly string[]): number {
    const times = relays.map((r) => this.rows.get(keyOf(accountId, r))?.openUntil ?? this.clock.now());
    return Math.min(...times);
  }

  /** A relay failure: counted fleet-wide; the breaker opens at the account's count. */
  failed(account: AccountConfig, relay: string): void {
    const now = this.clock.now();
    const rule = account.relayBreaker;
    this.remember(account.id, relay, (row) => {
      const failures = row.failures + 1;
      const opens = failures >= rule.failures && (row.openUntil === null || row.openUntil <= now);
      if (opens)
        this.log.warn(
          { account_id: account.id, relay, failures, cool_down_ms: rule.coolDownMs },
          "relay breaker open: the relay is skipped",
        );
      return { ...row, failures, openUntil: opens ? now + rule.coolDownMs : row.openUntil };
    });
    void recordRelayFailure(this.pool, account.id, relay, now, rule).catch((err: Error) =>
      this.log.warn({ account_id: account.id, relay, err: err.message }, "could not record the relay failure"),
    );
  }

  /** The relay answered (accepted the message, or refused it for a reason of its own): its breaker closes. */
  succeeded(account: AccountConfig, relay: string): void {
    const row = this.rows.get(keyOf(account.id, relay));
    // The usual case writes nothing: this sender saw no failure of the relay.
    if (!row || (row.failures === 0 && row.openUntil === null)) return;
    if (row.openUntil !== null) this.log.info({ account_id: account.id, relay }, "relay breaker closed");
    this.rows.set(keyOf(account.id, relay), { ...row, failures: 0, openUntil: null });
    void recordRelaySuccess(this.pool, account.id, relay, this.clock.now()).catch((err: Error) =>
      this.log.warn({ account_id: account.id, relay, err: err.message }, "could not record the relay's success"),
    );
  }

  /** The breakers of these accounts' relays that are not closed (read fresh when due). */
  async notClosed(accounts: Iterable<AccountConfig>): Promise<OpenBreaker[]> {
    await this.fresh();
    const out: OpenBreaker[] = [];
    for (const account of accounts) {
      for (const { name } of account.relays) {
        const state = this.state(account.id, name);
        const openUntil = this.rows.get(keyOf(account.id, name))?.openUntil;
        if (state !== "closed" && openUntil != null) out.push({ accountId: account.id, relay: name, state, openUntil });
      }
    }
    return out;
  }

  private remember(accountId: number, relay: string, change: (row: BreakerRow) => BreakerRow): void {
    const key = keyOf(accountId, relay);
    this.rows.set(key, change(this.rows.get(key) ?? { accountId, relay, failures: 0, openUntil: null }));
  }
}
