// Fleet-wide pacing of rate-limited accounts (GCRA, the generic cell rate algorithm). One row
// per account holds its theoretical arrival time (TAT) on the database clock; every claim of the
// account's rows locks it, gives each claimed row a start slot and moves it on, so all instances
// together start at most `burst` at once and then one per 1/max_per_second. A sender's lane
// (src/sender/lane.ts) starts its claims at their slots with the same GCRA step; a "slow down"
// reply also pauses the account on the instance that got it (src/sender/slow-down.ts).
import type { Pool, PoolConnection } from "../db/pool.js";
import { select } from "../db/query.js";

/** A rate limit: one start per 1/maxPerSecond, `burst` at once after a quiet spell. */
export interface PaceLimit {
  maxPerSecond: number;
  burst: number;
}

export interface PacedAccount extends PaceLimit {
  id: number;
  /** The most rows of the account this claim may take (the sender's room for it). */
  max: number;
}

export interface Slots {
  /** Start times (ms) for the first `starts.length` rows, in order. */
  starts: number[];
  /** The TAT after them. */
  tat: number;
}

/** An account's pace limit (rate_limit.max_per_second and burst), if its starts are paced at all. */
export function paceLimit(rateLimit: { maxPerSecond?: number; burst: number } | undefined): PaceLimit | undefined {
  return rateLimit?.maxPerSecond === undefined ? undefined : { maxPerSecond: rateLimit.maxPerSecond, burst: rateLimit.burst };
}

const intervalMs = (limit: PaceLimit) => 1000 / limit.maxPerSecond;
const toleranceMs = (limit: PaceLimit) => (Math.max(1, limit.burst) - 1) * intervalMs(limit);

/** The earliest start, not before `notBefore`, that conforms at arrival time `tat`: TAT − (burst − 1)·T. */
export function conformingStart(tat: number, notBefore: number, limit: PaceLimit): number {
  return Math.max(notBefore, tat - toleranceMs(limit));
}

/** The TAT after a start at `start`: max(TAT, start) + T. */
export function afterStart(tat: number, start: number, limit: PaceLimit): number {
  return Math.max(tat, start) + intervalMs(limit);
}

/** Slots that start no later than `now + horizonMs`, at most `max` of them. */
export function takeSlots(tat: number, now: number, horizonMs: number, account: Omit<PacedAccount, "id">): Slots {
  const starts: number[] = [];
  while (starts.length < account.max) {
    const start = conformingStart(tat, now, account);
    if (start > now + horizonMs) break;
    starts.push(Math.ceil(start));
    tat = afterStart(tat, start, account);
  }
  return { starts, tat };
}

const ensured = new WeakMap<Pool, Set<number>>();

/**
 * Creates missing pace rows, once per account and pool, in a statement of its own: inserting
 * them inside concurrent claims would have those claims deadlock on the new rows.
 */
export async function ensurePace(pool: Pool, accountIds: readonly number[]): Promise<void> {
  const known = ensured.get(pool) ?? new Set<number>();
  ensured.set(pool, known);
  const missing = accountIds.filter((id) => !known.has(id));
  if (missing.length === 0) return;
  await pool.query("INSERT IGNORE INTO account_pace (account_id, tat) VALUES ?", [missing.map((id) => [id, 0])]);
  for (const id of missing) known.add(id);
}

/** Locks the pace rows of these accounts, in id order so that claims cannot deadlock. */
export async function lockPace(conn: PoolConnection, accountIds: readonly number[]): Promise<Map<number, number>> {
  const rows = await select<{ account_id: number; tat: number }>(
    conn,
    "SELECT account_id, tat FROM account_pace WHERE account_id IN (?) ORDER BY account_id FOR UPDATE",
    [accountIds],
  );
  return new Map(rows.map((r) => [Number(r.account_id), Number(r.tat)]));
}

/** Writes the TATs the claim moved on. */
export async function savePace(conn: PoolConnection, tats: ReadonlyMap<number, number>): Promise<void> {
  if (tats.size === 0) return;
  const entries = [...tats];
  await conn.query("INSERT INTO account_pace (account_id, tat) VALUES ? ON DUPLICATE KEY UPDATE tat = VALUES(tat)", [
    entries.map(([id, tat]) => [id, Math.ceil(tat)]),
  ]);
}

/**
 * A "slow down" reply: no instance starts a slot of the account before `until`; after it, one
 * at a time again (an empty bucket).
 */
export async function holdPace(pool: Pool, accountId: number, until: number, limit: PaceLimit): Promise<void> {
  await pool.query("INSERT INTO account_pace (account_id, tat) VALUES (?, ?) ON DUPLICATE KEY UPDATE tat = GREATEST(tat, VALUES(tat))", [
    accountId,
    Math.ceil(until + toleranceMs(limit)),
  ]);
}
