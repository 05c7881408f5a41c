// Finding the message a Reply answers.
import type { Pool } from "./db.js";
import { jsonList } from "./rows.js";

export interface Parent {
  messageId: string;
  subject: string;
  to: string[];
  cc: string[];
  references: string | null;
}

/** A message this account sent (or is sending), by the Message-ID of its latest attempt. */
export async function findSentParent(pool: Pool, accountId: number, messageId: string): Promise<Parent | undefined> {
  const [rows] = (await pool.query(
    `SELECT message_id, subject, to_json, cc_json, references_header FROM outbox
      WHERE account_id = ? AND message_id = ? ORDER BY id DESC LIMIT 1`,
    [accountId, messageId],
  )) as unknown as [{ message_id: string; subject: string; to_json: unknown; cc_json: unknown; references_header: string | null }[]];
  const r = rows[0];
  if (!r) return undefined;
  return { messageId: r.message_id, subject: r.subject, to: jsonList(r.to_json), cc: jsonList(r.cc_json), references: r.references_header };
}
