// Reading back what reports said about a row's recipients (GetOutbox).
import type { Queryable } from "../../db/pool.js";
import type { RecipientOutcome, StoredOutcome } from "./report.js";

export async function recipientReports(db: Queryable, outboxId: number): Promise<(StoredOutcome & { updatedAt: number })[]> {
  const [rows] = (await db.query(
    "SELECT address, state, status_code, diagnostic, updated_at FROM outbox_recipient WHERE outbox_id = ? ORDER BY address",
    [outboxId],
  )) as unknown as [{ address: string; state: RecipientOutcome["state"]; status_code: string; diagnostic: string; updated_at: number }[]];
  return rows.map((r) => ({ address: r.address, state: r.state, status: r.status_code, diagnostic: r.diagnostic, updatedAt: Number(r.updated_at) }));
}
