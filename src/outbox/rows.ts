// Mapping outbox rows between SQL and the domain types.
import { escape as escapeSql } from "mysql2";
import { sqlExpr, type SqlExpr } from "../db/query.js";
import type { ClaimedMessage, FailureMode, HeaderField, OutboxRow, OutboxStatus, StringMap } from "./types.js";

/** The columns of an OutboxRow: everything but the bodies. */
export const ROW_COLUMNS = `id, account_id, kind, status, retries, next_attempt_at, send_at, message_id, provider_message_id,
  last_error, last_error_class, failure_mode, idempotency_key, to_json, cc_json, bcc_json, subject, in_reply_to,
  created_at, updated_at, sent_at, from_header, headers_json, tags_json, metadata_json, suppressed_json, priority,
  expire_at, collapse_key, superseded_by, relay, template_name, template_version`;

/** The extra columns a sender needs to build the message. */
export const CLAIM_COLUMNS = `${ROW_COLUMNS}, message_seq, lease_token, relay_hops, reply_to, body_text, body_html, references_header, mime,
  EXISTS (SELECT 1 FROM outbox_attachment a WHERE a.outbox_id = outbox.id) AS has_attachments`;

export interface OutboxDbRow {
  id: number;
  account_id: number;
  kind: "send" | "reply";
  status: OutboxStatus;
  retries: number;
  next_attempt_at: number | null;
  send_at: number;
  message_id: string | null;
  provider_message_id: string | null;
  last_error: string | null;
  last_error_class: string | null;
  failure_mode: number;
  /** VARBINARY: the key's UTF-8 bytes. */
  idempotency_key: Buffer | string | null;
  to_json: unknown;
  cc_json: unknown;
  bcc_json: unknown;
  subject: string;
  in_reply_to: string | null;
  created_at: number;
  updated_at: number;
  sent_at: number | null;
  suppressed_json: unknown;
  from_header: string;
  headers_json: unknown;
  tags_json: unknown;
  metadata_json: unknown;
  priority: number;
  expire_at: number | null;
  /** VARBINARY: the key's UTF-8 bytes. */
  collapse_key: Buffer | string | null;
  superseded_by: number | null;
  relay: string | null;
  template_name: string | null;
  template_version: number | null;
}

export interface ClaimDbRow extends OutboxDbRow {
  message_seq: number;
  lease_token: number;
  relay_hops: number;
  reply_to: string | null;
  body_text: string;
  body_html: string | null;
  references_header: string | null;
  mime: Buffer | null;
  has_attachments: number;
}

/** A JSON array column: mysql2 returns JSON columns parsed on MySQL and as text on MariaDB. */
export function jsonArray(value: unknown): unknown[] {
  const parsed: unknown = typeof value === "string" ? JSON.parse(value) : value;
  return Array.isArray(parsed) ? parsed : [];
}

export function jsonList(value: unknown): string[] {
  return jsonArray(value).map(String);
}

/** A JSON object of strings (tags, metadata); NULL is none. */
export function jsonMap(value: unknown): StringMap {
  const parsed: unknown = typeof value === "string" ? JSON.parse(value) : value;
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return {};
  return Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, String(v)]));
}

/** A JSON array of [name, value] pairs (header fields); NULL is none. */
function jsonHeaders(value: unknown): HeaderField[] {
  return jsonArray(value).map((pair) => {
    const [name, v] = pair as unknown[];
    return [String(name), String(v)];
  });
}

/** A map or list as its JSON column: NULL when empty. */
export function jsonColumn(value: StringMap | HeaderField[] | undefined): string | null {
  if (value === undefined) return null;
  return (Array.isArray(value) ? value.length : Object.keys(value).length) === 0 ? null : JSON.stringify(value);
}

export function toRow(r: OutboxDbRow): OutboxRow {
  return {
    id: r.id,
    accountId: r.account_id,
    kind: r.kind,
    status: r.status,
    retries: r.retries,
    nextAttemptAt: r.next_attempt_at,
    sendAt: r.send_at,
    messageId: r.message_id,
    providerMessageId: r.provider_message_id,
    lastError: r.last_error,
    lastErrorClass: r.last_error_class,
    failureMode: r.failure_mode as FailureMode,
    idempotencyKey: r.idempotency_key === null ? null : r.idempotency_key.toString(),
    to: jsonList(r.to_json),
    cc: jsonList(r.cc_json),
    bcc: jsonList(r.bcc_json),
    subject: r.subject,
    inReplyTo: r.in_reply_to,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    sentAt: r.sent_at,
    suppressed: r.suppressed_json === null ? [] : jsonList(r.suppressed_json),
    from: r.from_header,
    headers: jsonHeaders(r.headers_json),
    tags: jsonMap(r.tags_json),
    metadata: jsonMap(r.metadata_json),
    priority: r.priority === 1 ? "bulk" : "transactional",
    expireAt: r.expire_at,
    collapseKey: r.collapse_key === null ? null : r.collapse_key.toString(),
    supersededBy: r.superseded_by,
    relay: r.relay,
    template: r.template_name === null ? null : { name: r.template_name, version: Number(r.template_version) },
  };
}

export function toClaimed(r: ClaimDbRow): ClaimedMessage {
  return {
    ...toRow(r),
    messageId: r.message_id ?? "",
    messageSeq: r.message_seq,
    leaseToken: r.lease_token,
    relayHops: r.relay_hops,
    replyTo: r.reply_to,
    bodyText: r.body_text,
    bodyHtml: r.body_html,
    references: r.references_header,
    hasAttachments: r.has_attachments === 1,
    mime: r.mime,
  };
}

/** The RFC 5322 Message-ID of an attempt: stable for a row and its message_seq. */
export function attemptMessageId(id: number, seq: number, domain: string): string {
  return `<outbox-${id}-${seq}@${domain}>`;
}

/**
 * attemptMessageId computed by the server: `id` and `seq` are SQL of ours (columns, or an id it
 * has just handed out), the domain is escaped by the driver.
 */
export function attemptMessageIdSql(id: SqlExpr, seq: SqlExpr, domain: string): SqlExpr {
  return sqlExpr(`CONCAT('<outbox-', ${id.toSqlString()}, '-', ${seq.toSqlString()}, '@', ${escapeSql(domain)}, '>')`);
}
