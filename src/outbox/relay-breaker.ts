// Each relay's circuit breaker, shared by the fleet in relay_breaker (migration 0252): relay
// failures in a row and, while open, the time until which every sender skips the relay. Writes
// are single statements outside the attempt's finalize: the breaker is advice on where to send,
// and a lost write costs at most one more try of a failing relay.
import type { Pool, Queryable } from "../db/pool.js";
import { exec, select } from "../db/query.js";

export interface BreakerRow {
  accountId: number;
  relay: string;
  /** Relay failures since its last success. */
  failures: number;
  /** Set while open: senders skip the relay until then (ms, service clock), then one tries it. */
  openUntil: number | null;
}

/** When a relay's breaker opens, and for how long. */
export interface BreakerRule {
  failures: number;
  coolDownMs: number;
}

/** Every breaker that has seen a failure (a relay without a row is closed). The table is small: a row per relay. */
export async function readBreakers(db: Queryable): Promise<BreakerRow[]> {
  const rows = await select<{ account_id: number; relay: string; failures: number; open_until: number | null }>(
    db,
    "SELECT account_id, relay, failures, open_until FROM relay_breaker",
  );
  return rows.map((r) => ({
    accountId: Number(r.account_id),
    relay: r.relay,
    failures: Number(r.failures),
    openUntil: r.open_until === null ? null : Number(r.open_until),
  }));
}

/**
 * One more relay failure; the breaker opens at the rule's count, unless it is open already (a
 * late failure of an attempt that started before it opened does not put the trial off).
 */
export async function recordRelayFailure(pool: Pool, accountId: number, relay: string, now: number, rule: BreakerRule): Promise<void> {
  const opensAt = now + rule.coolDownMs;
  await exec(
    pool,
    `INSERT INTO relay_breaker (account_id, relay, failures, open_until, updated_at) VALUES (?, ?, 1, IF(1 >= ?, ?, NULL), ?)
     ON DUPLICATE KEY UPDATE
       open_until = IF(failures + 1 >= ? AND (open_until IS NULL OR open_until <= ?), ?, open_until),
       failures = failures + 1, updated_at = ?`,
    [accountId, relay, rule.failures, opensAt, now, rule.failures, now, opensAt, now],
  );
}

/** The relay took an attempt: its breaker closes. */
export async function recordRelaySuccess(pool: Pool, accountId: number, relay: string, now: number): Promise<void> {
  await exec(
    pool,
    "UPDATE relay_breaker SET failures = 0, open_until = NULL, updated_at = ? WHERE account_id = ? AND relay = ? AND (failures > 0 OR open_until IS NOT NULL)",
    [now, accountId, relay],
  );
}

/**
 * Half-open: once the cool-down has passed, the one sender whose UPDATE moves open_until on gets
 * the single trial attempt; everyone else keeps skipping the relay for another cool-down, unless
 * the trial succeeds and closes it first.
 */
export async function takeTrial(pool: Pool, accountId: number, relay: string, now: number, coolDownMs: number): Promise<boolean> {
  const res = await exec(
    pool,
    "UPDATE relay_breaker SET open_until = ?, updated_at = ? WHERE account_id = ? AND relay = ? AND open_until IS NOT NULL AND open_until <= ?",
    [now + coolDownMs, now, accountId, relay, now],
  );
  return res.affectedRows === 1;
}
