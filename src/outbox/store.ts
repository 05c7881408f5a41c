// Read, list and cancel: the request side of the outbox (enqueue.ts commits new messages).
import { appendEvents } from "./events.js";
import { inTransaction, type Pool, type Queryable } from "../db/pool.js";
import { OutboxError } from "./errors.js";
import { CLAIM_COLUMNS, ROW_COLUMNS, toClaimed, toRow, type ClaimDbRow, type OutboxDbRow } from "./rows.js";
import { allows, eventOf, toSql } from "./lifecycle.js";
import type { ClaimedMessage, OutboxRow, OutboxStatus, StringMap } from "./types.js";
import { select } from "../db/query.js";

export interface ListQuery {
  /** Accounts to include; undefined means all. */
  accountIds?: readonly number[];
  statuses: readonly OutboxStatus[];
  limit: number;
  /** Keyset cursor: only ids below it. */
  beforeId?: number;
  /** Only rows carrying every one of these tags (name -> value). */
  tags?: StringMap;
}

export async function getOutbox(pool: Pool, id: number): Promise<OutboxRow | undefined> {
  const rows = await select<OutboxDbRow>(pool, `SELECT ${ROW_COLUMNS} FROM outbox WHERE id = ?`, [id]);
  return rows[0] ? toRow(rows[0]) : undefined;
}

/**
 * A row with everything the sender composes it from (as a claim has it, without a lease), for
 * the detail view.
 */
export async function getOutboxContent(pool: Pool, id: number): Promise<ClaimedMessage | undefined> {
  const rows = await select<ClaimDbRow>(pool, `SELECT ${CLAIM_COLUMNS} FROM outbox WHERE id = ?`, [id]);
  return rows[0] ? toClaimed(rows[0]) : undefined;
}

/** Newest first, by keyset on id. Extra conditions may be passed in by callers in this folder. */
export async function listOutbox(pool: Queryable, q: ListQuery, where: string[] = [], args: unknown[] = []): Promise<OutboxRow[]> {
  if (q.accountIds) {
    if (q.accountIds.length === 0) return [];
    where.push("account_id IN (?)");
    args.push(q.accountIds);
  }
  if (q.statuses.length > 0) {
    where.push("status IN (?)");
    args.push(q.statuses);
  }
  if (q.beforeId !== undefined) {
    where.push("id < ?");
    args.push(q.beforeId);
  }
  if (q.tags && Object.keys(q.tags).length > 0) {
    where.push("JSON_CONTAINS(tags_json, ?)");
    args.push(JSON.stringify(q.tags));
  }
  args.push(q.limit);
  const rows = await select<OutboxDbRow>(
    pool,
    `SELECT ${ROW_COLUMNS} FROM outbox ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY id DESC LIMIT ?`,
    args,
  );
  return rows.map(toRow);
}

/** PENDING (also scheduled) or FAILED -> CANCELLED. */
export async function cancelOutbox(pool: Pool, id: number, now: number): Promise<OutboxRow> {
  await inTransaction(pool, async (conn) => {
    const rows = await select<{ account_id: number; status: OutboxStatus; retries: number }>(
      conn,
      "SELECT account_id, status, retries FROM outbox WHERE id = ? FOR UPDATE",
      [id],
    );
    const row = rows[0];
    if (!row) throw new OutboxError("OUTBOX_NOT_FOUND", "outbox record not found", { outbox_id: String(id) });
    if (!allows("cancel", row.status)) {
      throw new OutboxError("CANCEL_NOT_ALLOWED_FOR_STATUS", "cancel_not_allowed_for_status", { status: row.status });
    }
    await conn.query(`UPDATE outbox SET status = ${toSql("cancel")}, next_attempt_at = NULL, updated_at = ? WHERE id = ?`, [now, id]);
    await appendEvents(
      conn,
      [
        {
          outboxId: id,
          accountId: row.account_id,
          kind: eventOf("cancel"),
          status: "cancelled",
          retries: row.retries,
          nextAttemptAt: null,
          providerMessageId: null,
          messageId: null,
          error: null,
        },
      ],
      now,
    );
  });
  return (await getOutbox(pool, id))!;
}

export interface Snapshot {
  rows: OutboxRow[];
  /** The newest event already reflected in `rows`: later events are changes after the snapshot. */
  lastEventId: number;
}

/**
 * The current state of matching rows (newest first, at most `limit`) and the event id it
 * corresponds to, read from one consistent snapshot: tailing from that id has no gap and no
 * duplicate.
 */
export async function snapshotOutbox(pool: Pool, q: ListQuery & { outboxIds?: readonly number[] }): Promise<Snapshot> {
  const conn = await pool.getConnection();
  try {
    // A consistent snapshot needs REPEATABLE READ (sessions default to READ COMMITTED, see db.ts).
    await conn.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ");
    await conn.query("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY");
    const seq = await select<{ last_id: number }>(conn, "SELECT last_id FROM outbox_event_seq WHERE id = 1");
    const where: string[] = [];
    const args: unknown[] = [];
    if (q.outboxIds) {
      if (q.outboxIds.length === 0) return { rows: [], lastEventId: Number(seq[0]?.last_id ?? 0) };
      where.push("id IN (?)");
      args.push(q.outboxIds);
    }
    const rows = await listOutbox(conn, q, where, args);
    await conn.commit();
    return { rows, lastEventId: Number(seq[0]?.last_id ?? 0) };
  } finally {
    await conn.rollback().catch(() => undefined);
    conn.release();
  }
}
