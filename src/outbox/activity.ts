// Delivery outcomes per minute, for GetOutboxActivity's chart: one grouped read of the events.
import type { Pool } from "../db/pool.js";
import { EventKind } from "./types.js";
import { select } from "../db/query.js";

export interface OutcomeCount {
  accountId: number;
  /** Minutes since the epoch. */
  minute: number;
  outcome: "sent" | "failed";
  count: number;
}

export const OUTCOMES = [EventKind.sent, EventKind.failed, EventKind.dead];

/** Exported for the EXPLAIN test. Arguments: the kinds, the first time counted. */
export const OUTCOME_COUNTS_SQL = `SELECT kind, account_id, FLOOR(created_at / 60000) AS minute, COUNT(*) AS n FROM outbox_event
  WHERE kind IN (?) AND created_at >= ? GROUP BY kind, account_id, minute`;

/**
 * SENT, FAILED and DEAD events created since `since`, counted per account and minute. A range of
 * idx_outbox_event_outcome per kind, read from the index alone (a plain read: no locks).
 */
export async function readOutcomeCounts(pool: Pool, since: number, timeoutMs: number): Promise<OutcomeCount[]> {
  const rows = await select<{ kind: number; account_id: number; minute: number | string; n: number | string }>(pool, {
    sql: OUTCOME_COUNTS_SQL,
    values: [OUTCOMES, since],
    timeout: timeoutMs,
  });
  return rows.map((r) => ({
    accountId: Number(r.account_id),
    minute: Number(r.minute),
    outcome: r.kind === EventKind.sent ? "sent" : "failed",
    count: Number(r.n),
  }));
}
