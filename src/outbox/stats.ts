// What the metrics endpoint reads from the outbox: rows per status and the oldest due time.
import type { Pool } from "../db/pool.js";
import { select, selectOne } from "../db/query.js";
import { BULK_HANDICAP_MS } from "./claims.js";
import { OUTBOX_STATUSES, type OutboxStatus } from "./types.js";

export interface OutboxStats {
  byStatus: Record<OutboxStatus, number>;
  /** The earliest due_at of a row waiting in the queue (due or not yet), or null. */
  earliestDueAt: number | null;
}

/**
 * One GROUP BY over the (status, …) index, and MIN(due_at) read from the claim index: the row
 * with the earliest due_at has a claim_at at most the bulk handicap past the earliest claim_at,
 * so only that stretch of the index is read. Plain reads: no locks, never waiting for a claim.
 */
export async function readOutboxStats(pool: Pool, timeoutMs: number): Promise<OutboxStats> {
  const counts = await select<{ status: OutboxStatus; n: number }>(pool, {
    sql: "SELECT status, COUNT(*) AS n FROM outbox GROUP BY status",
    timeout: timeoutMs,
  });
  const due = await selectOne<{ due: number | null }>(pool, {
    sql: "SELECT MIN(due_at) AS due FROM outbox FORCE INDEX (idx_outbox_claim) WHERE claim_at <= (SELECT MIN(claim_at) FROM outbox) + ?",
    values: [BULK_HANDICAP_MS],
    timeout: timeoutMs,
  });
  const byStatus = Object.fromEntries(OUTBOX_STATUSES.map((s) => [s, 0])) as Record<OutboxStatus, number>;
  for (const c of counts) byStatus[c.status] = Number(c.n);
  return { byStatus, earliestDueAt: due?.due === null || due?.due === undefined ? null : Number(due.due) };
}
