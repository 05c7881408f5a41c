// Reading back what reports said about a row's recipients (GetOutbox).
import type { Queryable } from "../outbox/db.js";
import type { RecipientOutcome } from "./report.js";
import { select } from "../outbox/query.js";

export async function recipientReports(db: Queryable, outboxId: number): Promise<(RecipientOutcome & { updatedAt: number })[]> {
  const rows = await select<{ address: string; state: RecipientOutcome["state"]; status_code: string; diagnostic: string; updated_at: number }>(db,
    "SELECT address, state, status_code, diagnostic, updated_at FROM outbox_recipient WHERE outbox_id = ? ORDER BY address",
    [outboxId],
  );
  return rows.map((r) => ({ address: r.address, state: r.state, status: r.status_code, diagnostic: r.diagnostic, updatedAt: Number(r.updated_at) }));
}
