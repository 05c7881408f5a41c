// Reading back what reports said about rows' recipients (GetOutbox, and ListOutbox a page at once).
import type { Queryable } from "../../db/pool.js";
import { select } from "../../db/query.js";
import { isBounceReason, type BounceReason } from "../../message/bounce-reasons.js";
import type { RecipientOutcome } from "./report.js";

/** A recipient's latest report as stored; reason null when it was stored before reasons were recorded. */
export interface StoredRecipient extends Omit<RecipientOutcome, "reason" | "feedbackType"> {
  reason: BounceReason | null;
  updatedAt: number;
}

interface RecipientDbRow {
  outbox_id: number;
  address: string;
  state: RecipientOutcome["state"];
  status_code: string;
  diagnostic: string;
  bounce_reason: string | null;
  reply_code: string;
  updated_at: number;
}

export async function recipientReports(db: Queryable, outboxId: number): Promise<StoredRecipient[]> {
  return (await recipientReportsOf(db, [outboxId])).get(outboxId) ?? [];
}

/** The reports of several rows in one query (the primary key's range per row), by outbox id, addresses in order. */
export async function recipientReportsOf(db: Queryable, outboxIds: readonly number[]): Promise<Map<number, StoredRecipient[]>> {
  const byRow = new Map<number, StoredRecipient[]>();
  if (outboxIds.length === 0) return byRow;
  const rows = await select<RecipientDbRow>(
    db,
    `SELECT outbox_id, address, state, status_code, diagnostic, bounce_reason, reply_code, updated_at
     FROM outbox_recipient WHERE outbox_id IN (?) ORDER BY outbox_id, address`,
    [outboxIds],
  );
  for (const r of rows) {
    const id = Number(r.outbox_id);
    const list = byRow.get(id) ?? byRow.set(id, []).get(id)!;
    list.push({
      address: r.address,
      state: r.state,
      status: r.status_code,
      diagnostic: r.diagnostic,
      reason: r.bounce_reason !== null && isBounceReason(r.bounce_reason) ? r.bounce_reason : null,
      replyCode: r.reply_code,
      updatedAt: Number(r.updated_at),
    });
  }
  return byRow;
}
