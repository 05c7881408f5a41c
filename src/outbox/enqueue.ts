// Committing validated messages: many in one transaction (group commit), each with its first
// event, and those the local sender takes at once committed already leased to it, with their
// SENDING event, so no separate claim transaction stands between the commit and the first SMTP byte.
import { eventStatements, type StagedEvent } from "./events.js";
import { insertAttachments } from "./attachments.js";
import { inTransaction, type Pool, type PoolConnection, type Queryable } from "../db/pool.js";
import { OutboxError } from "./errors.js";
import { ROW_COLUMNS, attemptMessageId, attemptMessageIdSql, jsonColumn, toRow, type OutboxDbRow } from "./rows.js";
import { TRANSITIONS, eventOf } from "./lifecycle.js";
import { everyRecipientSuppressed } from "./suppressed-recipients.js";
import { supersedeOlder, type Superseded } from "./supersede.js";
import type { ClaimedMessage, NewMessage, OutboxRow } from "./types.js";
import { batchesInOneQuery, execBatch, select, exec, sqlExpr, type SqlExpr, type SqlPart } from "../db/query.js";
import type { ResultSetHeader } from "mysql2/promise";

const ER_DUP_ENTRY = 1062;
/** A row's first attempt, in SQL: its message_seq. */
const FIRST_SEQ = sqlExpr("0");

export interface EnqueueResult {
  row: OutboxRow;
  /** An earlier request with the same idempotency key made the row. */
  replay: boolean;
}

/** The lease that rows handed straight to the local sender are committed under. */
export interface HandoffLease {
  token: number;
  owner: string;
  now: number;
  leaseMs: number;
  messageIdDomain: string;
}

export interface Committed {
  id: number;
  due: number;
  /** Set for a row committed leased to the local sender: what it needs to send it. */
  claim?: ClaimedMessage;
  /** Set for a row a later message of the same transaction superseded (its collapse key). */
  supersededBy?: number;
}

/** Inserts `msgs` in this transaction, events included (see stageMessages). */
export async function insertMessages(
  conn: PoolConnection,
  msgs: readonly NewMessage[],
  now: number,
  opts: { take?: readonly boolean[]; lease?: HandoffLease; consecutiveIds: boolean },
): Promise<Committed[]> {
  const { ending, result } = await stageMessages(conn, msgs, now, opts);
  return result(await execBatch(conn, ending));
}

/** Statements to end a transaction with, and what it committed once they have run. */
export interface Staged {
  ending: SqlPart[];
  result: (ended: ResultSetHeader[]) => Committed[];
}

/**
 * Inserts `msgs` in this transaction. The statements that must come last (the taken rows'
 * Message-IDs, and the events, which lock the event counter until COMMIT) are returned to go in
 * one round trip, the COMMIT with them where the caller can; the common batch (no attachments,
 * no collapse key) puts its INSERT there too, the statements after it naming the new rows by the
 * first id the server handed out, so the whole transaction after its START is one round trip.
 * `take[i]` commits message i leased under `lease` instead of pending (never one a later message
 * of `msgs` supersedes). A message with a collapse key cancels the queued rows of its account and
 * key that it supersedes. Multi-row ids are consecutive only when the server hands out a
 * statement's AUTO_INCREMENT values together (innodb_autoinc_lock_mode 0 or 1, MariaDB's
 * default); otherwise pass `consecutiveIds: false` and each row is inserted on its own.
 */
export async function stageMessages(
  conn: PoolConnection,
  msgs: readonly NewMessage[],
  now: number,
  opts: { take?: readonly boolean[]; lease?: HandoffLease; consecutiveIds: boolean },
): Promise<Staged> {
  const lease = opts.lease;
  const taken = (i: number) => lease !== undefined && opts.take?.[i] === true;
  const values = msgs.map((m, i) => rowValues(m, now, taken(i) ? lease : undefined));
  const ending: SqlPart[] = [];
  // Known here, or only once the ending has run (the INSERT in it).
  let ids: number[] | undefined;
  let superseded: Superseded = { by: new Map(), events: [] };
  const inOneGo =
    opts.consecutiveIds && batchesInOneQuery(conn) && msgs.every((m) => !m.attachments?.length && m.collapseKey === undefined);
  if (inOneGo) {
    ending.push({ sql: `${INSERT_OUTBOX} VALUES ?`, args: [values] }, { sql: "SET @outbox_first = LAST_INSERT_ID()", args: [] });
  } else {
    const inserted = await insertRows(conn, values, opts.consecutiveIds);
    ids = inserted;
    for (const [i, m] of msgs.entries()) await insertAttachments(conn, inserted[i]!, m.attachments ?? []);
    const keyed = msgs.flatMap((m, i) =>
      m.collapseKey === undefined ? [] : [{ id: inserted[i]!, accountId: m.accountId, collapseKey: m.collapseKey }],
    );
    superseded = await supersedeOlder(conn, keyed, now);
  }
  // A row's id in the statements that follow: known, or the server's, counted from the first.
  const idOf = (i: number): SqlExpr => sqlExpr(ids ? String(ids[i]) : `@outbox_first + ${i}`);
  const takenIds = msgs.flatMap((_, i) => (taken(i) ? [idOf(i)] : []));
  if (lease && takenIds.length > 0) {
    ending.push({
      sql: "UPDATE outbox SET message_id = ? WHERE id IN (?)",
      args: [attemptMessageIdSql(sqlExpr("id"), FIRST_SEQ, lease.messageIdDomain), takenIds],
    });
  }

  const events: StagedEvent[] = [];
  for (const [i, m] of msgs.entries()) {
    const event = { outboxId: idOf(i), accountId: m.accountId, retries: 0, providerMessageId: null, messageId: null, error: null };
    if (everyRecipientSuppressed(m)) {
      events.push({ ...event, kind: eventOf("suppress"), status: "suppressed", nextAttemptAt: null });
      continue;
    }
    const due = dueAt(m, now);
    events.push({ ...event, kind: eventOf(due > now ? "schedule" : "send"), status: "pending", nextAttemptAt: due });
    if (taken(i))
      events.push({
        ...event,
        kind: eventOf("handOff"),
        status: "sending",
        nextAttemptAt: null,
        messageId: attemptMessageIdSql(idOf(i), FIRST_SEQ, lease!.messageIdDomain),
      });
  }
  // After the rows' own first events: a row of this batch is created before it is superseded.
  ending.push(...eventStatements([...events, ...superseded.events], now));

  return {
    ending,
    result: (ended) => {
      const rowIds = ids ?? msgs.map((_, i) => ended[0]!.insertId + i);
      return msgs.map((m, i): Committed => {
        const id = rowIds[i]!;
        const due = dueAt(m, now);
        if (everyRecipientSuppressed(m)) return { id, due };
        if (!taken(i)) return { id, due, supersededBy: superseded.by.get(id) };
        return { id, due, claim: claimedRow(id, m, due, now, lease!) };
      });
    },
  };
}

/** The rows' ids: one multi-row INSERT where its ids are consecutive, else one INSERT a row. */
async function insertRows(conn: PoolConnection, values: unknown[][], consecutiveIds: boolean): Promise<number[]> {
  if (consecutiveIds || values.length === 1) {
    const res = await exec(conn, `${INSERT_OUTBOX} VALUES ?`, [values]);
    return values.map((_, i) => res.insertId + i);
  }
  const ids: number[] = [];
  for (const v of values) ids.push((await exec(conn, `${INSERT_OUTBOX} VALUES ?`, [[v]])).insertId);
  return ids;
}

/**
 * One message in a transaction of its own; a reused idempotency key is answered from its row.
 * The message comes as the group commit marked it (its suppressed recipients already known).
 */
export async function enqueue(pool: Pool, msg: NewMessage, now: number): Promise<EnqueueResult> {
  try {
    const [c] = await inTransaction(pool, (conn) => insertMessages(conn, [msg], now, { consecutiveIds: true }));
    return { row: newRow(c!.id, msg, c!.due, now, c!.supersededBy), replay: false };
  } catch (err) {
    if (!isDuplicateKey(err) || !msg.idempotencyKey) throw err;
    const [existing] = await rowsWithKeys(pool, [msg]);
    if (!existing) throw new Error("idempotency key conflict, but no row holds the key");
    return replayOf(msg, existing);
  }
}

export function isDuplicateKey(err: unknown): boolean {
  return (err as { errno?: number }).errno === ER_DUP_ENTRY;
}

export type KeyedRow = OutboxDbRow & { request_hash: Buffer | null };

/** The rows that already hold these messages' idempotency keys. */
export async function rowsWithKeys(db: Queryable, msgs: readonly NewMessage[]): Promise<KeyedRow[]> {
  const keyed = msgs.filter((m) => m.idempotencyKey);
  if (keyed.length === 0) return [];
  return select<KeyedRow>(db, `SELECT ${ROW_COLUMNS}, request_hash FROM outbox WHERE (account_id, idempotency_key) IN (?)`, [
    keyed.map((m) => [m.accountId, m.idempotencyKey]),
  ]);
}

/** The key was used before: the same request gets the same row, another request is refused. */
export function replayOf(msg: NewMessage, existing: KeyedRow): EnqueueResult {
  checkReplay(msg, existing.request_hash, existing.id);
  return { row: toRow(existing), replay: true };
}

/** Throws IDEMPOTENCY_KEY_REUSED unless `msg` is the request that made row `id` (same hash). */
export function checkReplay(msg: NewMessage, hash: Buffer | null | undefined, id: number): void {
  if (!msg.requestHash || !hash || !msg.requestHash.equals(hash)) {
    throw new OutboxError("IDEMPOTENCY_KEY_REUSED", "idempotency_key was already used with a different request", {
      outbox_id: String(id),
    });
  }
}

/** The row as just committed, without reading it back. */
export function newRow(id: number, msg: NewMessage, due: number, now: number, supersededBy?: number): OutboxRow {
  const suppressed = everyRecipientSuppressed(msg);
  const status = suppressed ? "suppressed" : supersededBy !== undefined ? "cancelled" : "pending";
  return {
    id,
    accountId: msg.accountId,
    kind: msg.kind,
    status,
    retries: 0,
    nextAttemptAt: status === "pending" ? due : null,
    sendAt: due,
    messageId: null,
    providerMessageId: null,
    lastError: null,
    lastErrorClass: null,
    failureMode: msg.failureMode,
    idempotencyKey: msg.idempotencyKey ?? null,
    to: msg.to,
    cc: msg.cc,
    bcc: msg.bcc,
    subject: msg.subject,
    inReplyTo: msg.inReplyTo ?? null,
    createdAt: now,
    updatedAt: now,
    sentAt: null,
    from: msg.from,
    headers: msg.headers ?? [],
    tags: msg.tags ?? {},
    metadata: msg.metadata ?? {},
    suppressed: msg.suppressed ?? [],
    priority: msg.priority ?? "transactional",
    template: msg.template ?? null,
    expireAt: msg.expireAt ?? null,
    collapseKey: msg.collapseKey ?? null,
    supersededBy: supersededBy ?? null,
    relay: null,
  };
}

export function dueAt(msg: NewMessage, now: number): number {
  return Math.max(msg.sendAt, now);
}

const INSERT_OUTBOX = `INSERT INTO outbox (account_id, kind, status, retries, next_attempt_at, send_at, failure_mode,
  idempotency_key, request_hash, from_header, to_json, cc_json, bcc_json, reply_to, subject, body_text, body_html,
  in_reply_to, references_header, lease_token, lease_owner, lease_expires_at, created_at, updated_at, headers_json, tags_json,
  metadata_json, suppressed_json, priority, expire_at, collapse_key, template_name, template_version, mime)`;

function rowValues(m: NewMessage, now: number, lease: HandoffLease | undefined): unknown[] {
  const due = dueAt(m, now);
  const suppressed = everyRecipientSuppressed(m);
  const status = TRANSITIONS[suppressed ? "suppress" : lease ? "handOff" : "send"].to[0];
  return [
    m.accountId,
    m.kind,
    status,
    0,
    suppressed ? null : due,
    due,
    m.failureMode,
    m.idempotencyKey ?? null,
    m.requestHash ?? null,
    m.from,
    JSON.stringify(m.to),
    JSON.stringify(m.cc),
    JSON.stringify(m.bcc),
    m.replyTo ?? null,
    m.subject,
    m.bodyText,
    m.bodyHtml ?? null,
    m.inReplyTo ?? null,
    m.references ?? null,
    lease?.token ?? null,
    lease?.owner ?? null,
    lease ? lease.now + lease.leaseMs : null,
    now,
    now,
    jsonColumn(m.headers),
    jsonColumn(m.tags),
    jsonColumn(m.metadata),
    m.suppressed?.length ? JSON.stringify(m.suppressed) : null,
    m.priority === "bulk" ? 1 : 0,
    m.expireAt ?? null,
    m.collapseKey ?? null,
    m.template?.name ?? null,
    m.template?.version ?? null,
    m.mime ?? null,
  ];
}

function claimedRow(id: number, m: NewMessage, due: number, now: number, lease: HandoffLease): ClaimedMessage {
  return {
    ...newRow(id, m, due, now),
    status: "sending",
    messageId: attemptMessageId(id, 0, lease.messageIdDomain),
    messageSeq: 0,
    leaseToken: lease.token,
    relayHops: 0,
    replyTo: m.replyTo ?? null,
    bodyText: m.bodyText,
    bodyHtml: m.bodyHtml ?? null,
    references: m.references ?? null,
    hasAttachments: (m.attachments?.length ?? 0) > 0,
    mime: m.mime ?? null,
  };
}
