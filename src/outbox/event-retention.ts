// Deleting old events. Only a prefix of the id sequence is ever deleted, so every event from the
// oldest kept one to the newest is still there and a resume point is either whole or refused.
import { inTransaction, type Pool } from "../db/pool.js";
import type { Fence } from "../db/fleet-lease.js";
import { exec, select } from "../db/query.js";

/**
 * Deletes the oldest events created before `cutoff`, at most `limit` in one short statement.
 * Stops at the first event that is still young, even if later ones are older (the clocks of
 * several instances may differ slightly). Returns the number deleted.
 */
export async function deleteEventsBefore(pool: Pool, cutoff: number, limit: number, fence?: Fence): Promise<number> {
  const head = await select<{ id: number; created_at: number }>(pool, "SELECT id, created_at FROM outbox_event ORDER BY id LIMIT ?", [
    limit,
  ]);
  let upTo = 0;
  for (const e of head) {
    if (Number(e.created_at) >= cutoff) break;
    upTo = Number(e.id);
  }
  if (upTo === 0) return 0;
  return inTransaction(pool, async (conn) => {
    await fence?.(conn);
    const res = await exec(conn, "DELETE FROM outbox_event WHERE id <= ?", [upTo]);
    return res.affectedRows;
  });
}
