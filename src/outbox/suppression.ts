// The suppression list: addresses an account no longer sends to. Entries come from bounces whose
// reason suppresses, complaints and repeated soft bounces (src/inbound/bounces/apply.ts) and from the API;
// addresses are compared and stored lower-cased.
import { isBounceReason, type BounceReason } from "../message/bounce-reasons.js";
import { exec, select } from "../db/query.js";
import { inTransaction, type Pool, type Queryable } from "../db/pool.js";

export type SuppressionReason = "hard_bounce" | "complaint" | "soft_bounces" | "manual";

export interface Suppression {
  accountId: number;
  address: string;
  reason: SuppressionReason;
  /** The reason of the report that listed it; null for a manual entry and one listed before reasons were recorded. */
  bounceReason: BounceReason | null;
  /** The row whose report caused it, if any. */
  outboxId: number | null;
  detail: string;
  createdAt: number;
}

interface SuppressionDbRow {
  account_id: number;
  address: string;
  reason: SuppressionReason;
  bounce_reason: string | null;
  outbox_id: number | null;
  detail: string;
  created_at: number;
}

const COLUMNS = "account_id, address, reason, bounce_reason, outbox_id, detail, created_at";

function toSuppression(r: SuppressionDbRow): Suppression {
  return {
    accountId: r.account_id,
    address: r.address,
    reason: r.reason,
    bounceReason: r.bounce_reason !== null && isBounceReason(r.bounce_reason) ? r.bounce_reason : null,
    outboxId: r.outbox_id === null ? null : Number(r.outbox_id),
    detail: r.detail,
    createdAt: Number(r.created_at),
  };
}

export const normalizeAddress = (address: string) => address.trim().toLowerCase();

/** The suppressed addresses among these (account, address) pairs, as "account\0address". */
export async function suppressedAmong(db: Queryable, pairs: readonly (readonly [number, string])[]): Promise<Set<string>> {
  if (pairs.length === 0) return new Set();
  const rows = await select<{ account_id: number; address: string }>(
    db,
    "SELECT account_id, address FROM suppression WHERE (account_id, address) IN (?)",
    [pairs.map(([a, addr]) => [a, normalizeAddress(addr)])],
  );
  return new Set(rows.map((r) => `${r.account_id}\u0000${r.address}`));
}

/** Adds an entry unless the address is already suppressed; returns the entry that holds. */
export async function addSuppression(db: Queryable, entry: Suppression): Promise<{ entry: Suppression; created: boolean }> {
  const address = normalizeAddress(entry.address);
  const res = await exec(db, `INSERT IGNORE INTO suppression (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)`, [
    entry.accountId,
    address,
    entry.reason,
    entry.bounceReason,
    entry.outboxId,
    entry.detail.slice(0, 1000),
    entry.createdAt,
  ]);
  const held = await getSuppression(db, entry.accountId, address);
  return { entry: held ?? { ...entry, address }, created: res.affectedRows === 1 };
}

export async function getSuppression(db: Queryable, accountId: number, address: string): Promise<Suppression | undefined> {
  const rows = await select<SuppressionDbRow>(db, `SELECT ${COLUMNS} FROM suppression WHERE account_id = ? AND address = ?`, [
    accountId,
    normalizeAddress(address),
  ]);
  return rows[0] && toSuppression(rows[0]);
}

/** Removes an entry; false when there was none. Later mail to the address is sent again. */
export async function removeSuppression(pool: Pool, accountId: number, address: string): Promise<boolean> {
  const res = await exec(pool, "DELETE FROM suppression WHERE account_id = ? AND address = ?", [accountId, normalizeAddress(address)]);
  return res.affectedRows === 1;
}

/**
 * Removes the listed ones of `addresses` in one transaction; returns those removed, in the order
 * given. Later mail to them is sent again.
 */
export async function removeSuppressions(pool: Pool, accountId: number, addresses: readonly string[]): Promise<string[]> {
  const wanted = [...new Set(addresses.map(normalizeAddress))];
  if (wanted.length === 0) return [];
  return inTransaction(pool, async (conn) => {
    const rows = await select<{ address: string }>(
      conn,
      "SELECT address FROM suppression WHERE account_id = ? AND address IN (?) FOR UPDATE",
      [accountId, wanted],
    );
    const listed = new Set(rows.map((r) => r.address));
    const removed = wanted.filter((a) => listed.has(a));
    if (removed.length > 0) await conn.query("DELETE FROM suppression WHERE account_id = ? AND address IN (?)", [accountId, removed]);
    return removed;
  });
}

export interface SuppressionQuery {
  accountId: number;
  afterAddress?: string;
  search?: string;
  /** Only these reasons; empty or absent: any. */
  reasons?: readonly SuppressionReason[];
  /** Only these bounce reasons, null for "none"; empty or absent: any. */
  bounceReasons?: readonly (BounceReason | null)[];
  limit: number;
}

/** A page of an account's entries in address order, after `afterAddress`. */
export async function listSuppressions(pool: Pool, q: SuppressionQuery): Promise<Suppression[]> {
  const where = ["account_id = ?"];
  const args: unknown[] = [q.accountId];
  if (q.afterAddress !== undefined) {
    where.push("address > ?");
    args.push(q.afterAddress);
  }
  if (q.search) {
    where.push("address LIKE ?");
    args.push(`%${q.search.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
  }
  if (q.reasons?.length) {
    where.push("reason IN (?)");
    args.push(q.reasons);
  }
  if (q.bounceReasons?.length) {
    const named = q.bounceReasons.filter((r) => r !== null);
    const either = [
      ...(named.length ? ["bounce_reason IN (?)"] : []),
      ...(named.length < q.bounceReasons.length ? ["bounce_reason IS NULL"] : []),
    ];
    where.push(`(${either.join(" OR ")})`);
    if (named.length) args.push(named);
  }
  const rows = await select<SuppressionDbRow>(
    pool,
    `SELECT ${COLUMNS} FROM suppression WHERE ${where.join(" AND ")} ORDER BY address LIMIT ?`,
    [...args, q.limit],
  );
  return rows.map(toSuppression);
}
