// The messages an account holds (table mail_message): mail it received, stored by ingest, and
// mail it sent, recorded when finalize writes a row as sent. Reply finds its parent here.
import type { Queryable } from "../db/pool.js";
import { jsonArray, jsonList } from "./rows.js";
import { containsAny } from "./search.js";
import { select, exec, type SqlPart } from "../db/query.js";

export type Direction = "inbound" | "outbound";

export interface AttachmentMeta {
  filename: string;
  contentType: string;
  size: number;
  contentId: string;
  disposition: string;
  sha256: string;
}

/** A parsed message, ready to be stored. Addresses are display strings, ids normalised. */
export interface NewMailMessage {
  accountId: number;
  direction: Direction;
  messageId: string;
  from: string | null;
  replyTo: string[];
  to: string[];
  cc: string[];
  subject: string | null;
  date: number | null;
  inReplyTo: string | null;
  references: string[];
  bodyText: string | null;
  bodyHtml: string | null;
  attachments: AttachmentMeta[];
}

export interface MailMessage extends NewMailMessage {
  id: number;
  outboxId: number | null;
  createdAt: number;
}

export interface MessageQuery {
  accountId: number;
  direction?: Direction;
  /** A substring of the subject, the sender or the text body; matched literally, any case. */
  search?: string;
  limit: number;
  /** Keyset cursor: only ids below it. */
  beforeId?: number;
}

const SUMMARY_COLUMNS = `id, account_id, direction, message_id, from_header, reply_to_json, to_json, cc_json, subject,
  header_date, in_reply_to, references_header, attachments_json, outbox_id, created_at`;
const ALL_COLUMNS = `${SUMMARY_COLUMNS}, body_text, body_html`;

interface MessageDbRow {
  id: number;
  account_id: number;
  direction: Direction;
  message_id: string;
  from_header: string | null;
  reply_to_json: unknown;
  to_json: unknown;
  cc_json: unknown;
  subject: string | null;
  header_date: number | null;
  in_reply_to: string | null;
  references_header: string | null;
  attachments_json: unknown;
  outbox_id: number | null;
  created_at: number;
  body_text?: string | null;
  body_html?: string | null;
}

/** Message-IDs are stored as ASCII: any other text names no stored message. */
const STORABLE_ID = /^[\x21-\x7e]{1,998}$/;

/**
 * Stores a message unless the account already holds one with its Message-ID. Returns the stored
 * row either way, and whether this call created it.
 */
export async function insertMessage(pool: Queryable, m: NewMailMessage, now: number): Promise<{ message: MailMessage; created: boolean }> {
  const res = await exec(
    pool,
    `INSERT INTO mail_message (account_id, direction, message_id, from_header, reply_to_json, to_json, cc_json, subject,
       header_date, in_reply_to, references_header, body_text, body_html, attachments_json, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON DUPLICATE KEY UPDATE id = id`,
    [
      m.accountId,
      m.direction,
      m.messageId,
      m.from,
      JSON.stringify(m.replyTo),
      JSON.stringify(m.to),
      JSON.stringify(m.cc),
      m.subject,
      m.date,
      m.inReplyTo,
      m.references.length ? m.references.join(" ") : null,
      m.bodyText,
      m.bodyHtml,
      JSON.stringify(m.attachments),
      now,
    ],
  );
  const message = await findMessage(pool, m.accountId, m.messageId);
  if (!message) throw new Error("mail_message row vanished right after it was written");
  // A duplicate reports no insert id (affectedRows cannot tell: mysql2 sets CLIENT_FOUND_ROWS).
  return { message, created: res.insertId > 0 && res.insertId === message.id };
}

/** One message of the account, by its normalised Message-ID, bodies included. */
export async function findMessage(pool: Queryable, accountId: number, messageId: string): Promise<MailMessage | undefined> {
  if (!STORABLE_ID.test(messageId)) return undefined;
  const rows = await select<MessageDbRow>(pool, `SELECT ${ALL_COLUMNS} FROM mail_message WHERE account_id = ? AND message_id = ?`, [
    accountId,
    messageId,
  ]);
  return rows[0] ? toMessage(rows[0]) : undefined;
}

/** Newest first, by keyset on id; bodies are left out (read them with findMessage). */
export async function listMessages(pool: Queryable, q: MessageQuery): Promise<MailMessage[]> {
  const where = ["account_id = ?"];
  const args: unknown[] = [q.accountId];
  if (q.direction) {
    where.push("direction = ?");
    args.push(q.direction);
  }
  if (q.beforeId !== undefined) {
    where.push("id < ?");
    args.push(q.beforeId);
  }
  if (q.search) {
    const search = containsAny(["subject", "from_header", "body_text"], q.search);
    where.push(search.sql);
    args.push(...search.args);
  }
  args.push(q.limit);
  const rows = await select<MessageDbRow>(
    pool,
    `SELECT ${SUMMARY_COLUMNS} FROM mail_message WHERE ${where.join(" AND ")} ORDER BY id DESC LIMIT ?`,
    args,
  );
  return rows.map(toMessage);
}

/**
 * Records the outbox rows just written as sent, inside finalize's transaction (a statement of its
 * batch, after the outcomes): the Message-ID of the attempt that was accepted, our From, the
 * recipients (not Bcc), subject, threading headers and bodies. One statement per batch; a
 * Message-ID already held (say, a copy ingested first) is left as it is.
 */
export function recordSentStatement(outboxIds: number[], now: number): SqlPart[] {
  if (outboxIds.length === 0) return [];
  return [
    {
      sql: `INSERT INTO mail_message (account_id, direction, message_id, from_header, reply_to_json, to_json, cc_json, subject,
       header_date, in_reply_to, references_header, body_text, body_html, attachments_json, outbox_id, created_at)
     SELECT account_id, 'outbound', message_id, from_header, IF(reply_to IS NULL, JSON_ARRAY(), JSON_ARRAY(reply_to)),
       to_json, cc_json, subject, created_at, in_reply_to, references_header, body_text, body_html, JSON_ARRAY(), id, ?
     FROM outbox WHERE id IN (?) AND status = 'sent' AND message_id IS NOT NULL
     ON DUPLICATE KEY UPDATE mail_message.id = mail_message.id`,
      args: [now, outboxIds],
    },
  ];
}

function toMessage(r: MessageDbRow): MailMessage {
  return {
    id: r.id,
    accountId: r.account_id,
    direction: r.direction,
    messageId: r.message_id,
    from: r.from_header,
    replyTo: jsonList(r.reply_to_json),
    to: jsonList(r.to_json),
    cc: jsonList(r.cc_json),
    subject: r.subject,
    date: r.header_date,
    inReplyTo: r.in_reply_to,
    references: r.references_header ? r.references_header.split(" ") : [],
    bodyText: r.body_text ?? null,
    bodyHtml: r.body_html ?? null,
    attachments: attachmentList(r.attachments_json),
    outboxId: r.outbox_id,
    createdAt: r.created_at,
  };
}

function attachmentList(value: unknown): AttachmentMeta[] {
  return jsonArray(value) as AttachmentMeta[];
}
