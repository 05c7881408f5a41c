// The suppression list: addresses an account no longer sends to. Entries come from hard bounces,
// complaints and repeated soft bounces (src/bounces/apply.ts) and from the API; addresses are
// compared and stored lower-cased.
import type { Pool, Queryable } from "../outbox/db.js";
import { select, exec } from "../outbox/query.js";

export type SuppressionReason = "hard_bounce" | "complaint" | "soft_bounces" | "manual";

export interface Suppression {
  accountId: number;
  address: string;
  reason: SuppressionReason;
  /** The row whose report caused it, if any. */
  outboxId: number | null;
  detail: string;
  createdAt: number;
}

interface SuppressionDbRow {
  account_id: number;
  address: string;
  reason: SuppressionReason;
  outbox_id: number | null;
  detail: string;
  created_at: number;
}

const COLUMNS = "account_id, address, reason, outbox_id, detail, created_at";

function toSuppression(r: SuppressionDbRow): Suppression {
  return {
    accountId: r.account_id, address: r.address, reason: r.reason, outboxId: r.outbox_id === null ? null : Number(r.outbox_id),
    detail: r.detail, createdAt: Number(r.created_at),
  };
}

export const normalizeAddress = (address: string) => address.trim().toLowerCase();

/** The suppressed addresses among these (account, address) pairs, as "account\0address". */
export async function suppressedAmong(db: Queryable, pairs: readonly (readonly [number, string])[]): Promise<Set<string>> {
  if (pairs.length === 0) return new Set();
  const rows = await select<{ account_id: number; address: string }>(db,
    "SELECT account_id, address FROM suppression WHERE (account_id, address) IN (?)",
    [pairs.map(([a, addr]) => [a, normalizeAddress(addr)])],
  );
  return new Set(rows.map((r) => `${r.account_id}\u0000${r.address}`));
}

/** Adds an entry unless the address is already suppressed; returns the entry that holds. */
export async function addSuppression(db: Queryable, entry: Suppression): Promise<{ entry: Suppression; created: boolean }> {
  const address = normalizeAddress(entry.address);
  const res = await exec(db,
    `INSERT IGNORE INTO suppression (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)`,
    [entry.accountId, address, entry.reason, entry.outboxId, entry.detail.slice(0, 1000), entry.createdAt],
  );
  const held = await getSuppression(db, entry.accountId, address);
  return { entry: held ?? { ...entry, address }, created: res.affectedRows === 1 };
}

export async function getSuppression(db: Queryable, accountId: number, address: string): Promise<Suppression | undefined> {
  const rows = await select<SuppressionDbRow>(db, `SELECT ${COLUMNS} FROM suppression WHERE account_id = ? AND address = ?`, [
    accountId, normalizeAddress(address),
  ]);
  return rows[0] && toSuppression(rows[0]);
}

/** Removes an entry; false when there was none. Later mail to the address is sent again. */
export async function removeSuppression(pool: Pool, accountId: number, address: string): Promise<boolean> {
  const res = await exec(pool, "DELETE FROM suppression WHERE account_id = ? AND address = ?", [
    accountId, normalizeAddress(address),
  ]);
  return res.affectedRows === 1;
}

/** A page of an account's entries in address order, after `afterAddress`. */
export async function listSuppressions(pool: Pool, q: { accountId: number; afterAddress?: string; search?: string; limit: number }): Promise<Suppression[]> {
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
  const rows = await select<SuppressionDbRow>(pool, `SELECT ${COLUMNS} FROM suppression WHERE ${where.join(" AND ")} ORDER BY address LIMIT ?`,
    [...args, q.limit]);
  return rows.map(toSuppression);
}
