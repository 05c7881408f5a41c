// Superseding: a message committed with a collapse key cancels the rows of its account with the
// same key that still wait in the queue, in the transaction that commits it, so of a series of
// updates only the newest goes out. A row with an attempt under way (SENDING) or finished is
// left as it is.
import type { PoolConnection } from "../db/pool.js";
import { select } from "../db/query.js";
import { eventOf, fromSql, toSql } from "./lifecycle.js";
import type { NewEvent, NewMessage } from "./types.js";

/** A row just inserted with a collapse key. */
export interface KeyedRow {
  id: number;
  accountId: number;
  collapseKey: string;
}

const groupOf = (accountId: number, key: string) => `${accountId}\u0000${key}`;

/** Which of `msgs` a later one of them supersedes (same account and collapse key): the last wins. */
export function supersededInBatch(msgs: readonly Pick<NewMessage, "accountId" | "collapseKey">[]): boolean[] {
  const last = new Map<string, number>();
  msgs.forEach((m, i) => m.collapseKey !== undefined && last.set(groupOf(m.accountId, m.collapseKey), i));
  return msgs.map((m, i) => m.collapseKey !== undefined && last.get(groupOf(m.accountId, m.collapseKey)) !== i);
}

/**
 * The locking read of the rows `groups` (account, key, newest id) supersede, through
 * idx_outbox_collapse: one range per group and queued status, bounded by the group's newest id.
 */
export function olderRowsSql(groups: number): string {
  const group = `(account_id = ? AND collapse_key = ? AND ${fromSql("supersede")} AND id < ?)`;
  return `SELECT id, account_id, collapse_key, retries FROM outbox FORCE INDEX (idx_outbox_collapse)
    WHERE ${Array.from({ length: groups }, () => group).join(" OR ")} FOR UPDATE`;
}

/** The cancelled rows' events, and each cancelled row's successor by id. */
export interface Superseded {
  events: NewEvent[];
  by: Map<number, number>;
}

/**
 * For each account and key among `rows`, cancels the queued rows older than the newest of them:
 * rows committed before, and earlier ones of this batch. One locking read (olderRowsSql), bounded
 * by each group's newest id: an older row another transaction is committing is waited for and
 * then cancelled, a newer one is not read (it supersedes these, not the other way round). Then one
 * UPDATE. Returns the new events (to be appended with the others) and each cancelled row's successor.
 */
export async function supersedeOlder(conn: PoolConnection, rows: readonly KeyedRow[], now: number): Promise<Superseded> {
  const newest = new Map<string, KeyedRow>();
  for (const r of rows) {
    const group = groupOf(r.accountId, r.collapseKey);
    if ((newest.get(group)?.id ?? 0) < r.id) newest.set(group, r);
  }
  const by = new Map<number, number>();
  if (newest.size === 0) return { events: [], by };
  const groups = [...newest.values()];
  const older = await select<{ id: number; account_id: number; collapse_key: Buffer; retries: number }>(
    conn,
    olderRowsSql(groups.length),
    groups.flatMap((g) => [g.accountId, g.collapseKey, g.id]),
  );
  if (older.length === 0) return { events: [], by };
  older.sort((a, b) => a.id - b.id);
  for (const o of older) by.set(o.id, newest.get(groupOf(o.account_id, o.collapse_key.toString()))!.id);
  await conn.query(
    `UPDATE outbox SET status = ${toSql("supersede")}, next_attempt_at = NULL, updated_at = ?,
       superseded_by = CASE id ${older.map(() => "WHEN ? THEN ?").join(" ")} END
     WHERE id IN (?) AND ${fromSql("supersede")}`,
    [now, ...older.flatMap((o) => [o.id, by.get(o.id)]), older.map((o) => o.id)],
  );
  const events = older.map(
    (o): NewEvent => ({
      outboxId: o.id,
      accountId: o.account_id,
      kind: eventOf("supersede"),
      status: "cancelled",
      retries: o.retries,
      nextAttemptAt: null,
      providerMessageId: null,
      messageId: null,
      error: null,
      supersededBy: by.get(o.id)!,
    }),
  );
  return { events, by };
}
