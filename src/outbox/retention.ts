// Deleting finished rows (sent, cancelled, dead, suppressed, expired) past retention, in short
// transactions. They touch only finished rows, which claims never read (claims walk the due
// index, where finished rows have no entry), and skip rows someone holds (a RetryOutbox of a dead
// row), so claims never wait.
import type { Fence } from "../db/fleet-lease.js";
import { inTransaction, type Pool } from "../db/pool.js";
import { FINISHED } from "./lifecycle.js";
import { select, exec } from "../db/query.js";

/** Finished rows changed before a cutoff, through idx_outbox_finished, with their attachment bytes. */
export const FINISHED_BEFORE_SQL = `SELECT o.id, (SELECT COALESCE(SUM(a.size_bytes), 0) FROM outbox_attachment a WHERE a.outbox_id = o.id) AS bytes
  FROM outbox o WHERE o.status IN (${FINISHED.map((s) => `'${s}'`).join(", ")}) AND o.updated_at < ?
  LIMIT ? FOR UPDATE SKIP LOCKED`;

/** A batch stops early at this many attachment bytes, so one transaction stays small. */
const MAX_BATCH_BYTES = 64 * 1024 * 1024;

/**
 * Deletes up to `limit` finished rows whose last change is before `cutoff`, with their
 * attachments (by cascade), the sent mail recorded for them, and their events created before
 * `eventCutoff`. Later events are left
 * to the event pruner, which deletes only a prefix of the event ids, so a stream never finds a
 * hole in events that are still within watch retention. Returns the number of rows deleted.
 */
export async function deleteFinishedBefore(pool: Pool, cutoff: number, eventCutoff: number, limit: number, fence?: Fence): Promise<number> {
  return inTransaction(pool, async (conn) => {
    await fence?.(conn);
    const rows = await select<{ id: number; bytes: number | string }>(conn, FINISHED_BEFORE_SQL, [cutoff, limit]);
    const ids: number[] = [];
    let bytes = 0;
    for (const r of rows) {
      bytes += Number(r.bytes);
      if (ids.length > 0 && bytes > MAX_BATCH_BYTES) break;
      ids.push(Number(r.id));
    }
    if (ids.length === 0) return 0;
    await conn.query("DELETE FROM outbox_event WHERE outbox_id IN (?) AND created_at < ?", [ids, eventCutoff]);
    // The sent copy kept for Reply: a reply's parent stays findable exactly as long as its row.
    await conn.query("DELETE FROM mail_message WHERE outbox_id IN (?)", [ids]);
    const res = await exec(conn, "DELETE FROM outbox WHERE id IN (?)", [ids]);
    return res.affectedRows;
  });
}

/** Deletes up to `limit` received messages stored before `cutoff`; returns how many. */
export async function deleteReceivedBefore(pool: Pool, cutoff: number, limit: number): Promise<number> {
  const res = await exec(pool, "DELETE FROM mail_message WHERE direction = 'inbound' AND created_at < ? ORDER BY created_at LIMIT ?", [
    cutoff,
    limit,
  ]);
  return res.affectedRows;
}

/**
 * Deletes up to `limit` outbox_request rows answered before `cutoff` (ms; the column is UTC),
 * through the pending index, where answered rows sort by their answer time; returns how many.
 */
export async function deleteAnsweredRequestsBefore(pool: Pool, cutoff: number, limit: number): Promise<number> {
  const utc = new Date(cutoff).toISOString().replace("T", " ").replace("Z", "");
  const res = await exec(pool, "DELETE FROM outbox_request WHERE processed_at < ? ORDER BY processed_at LIMIT ?", [utc, limit]);
  return res.affectedRows;
}
