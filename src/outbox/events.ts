// Appending events inside a state change's transaction, and reading them back in order.
import type { PoolConnection, Pool, Queryable } from "../db/pool.js";
import { isBounceReason } from "../message/bounce-reasons.js";
import { jsonMap } from "./rows.js";
import type { EventKind, EventRow, NewEvent, OutboxStatus } from "./types.js";
import { execBatch, select, sqlExpr, type SqlExpr, type SqlPart } from "../db/query.js";

/**
 * Appends events as the LAST step of a transaction, just before COMMIT. Taking the ids from the
 * counter row locks it until COMMIT, so a later transaction gets later ids only after this one is
 * visible: readers never see id N+1 before id N, and a rollback returns its ids (no gaps).
 */
export async function appendEvents(conn: PoolConnection, events: NewEvent[], now: number): Promise<void> {
  if (events.length === 0) return;
  await execBatch(conn, eventStatements(events, now));
}

/**
 * An event whose row's id (and so its Message-ID) may still be an expression: a row inserted in
 * the same query as its events.
 */
export type StagedEvent = Omit<NewEvent, "outboxId" | "messageId"> & {
  outboxId: number | SqlExpr;
  messageId: string | null | SqlExpr;
};

/**
 * The statements that append `events` (appendEvents' rules), to end a batch of a transaction's
 * statements: the ids are taken from the counter and written in the same round trip.
 */
export function eventStatements(events: StagedEvent[], now: number): SqlPart[] {
  if (events.length === 0) return [];
  // The counter's new last id, through LAST_INSERT_ID(), is the last of this batch's ids (the
  // events table has no AUTO_INCREMENT of its own to change it meanwhile).
  const id = (i: number) => sqlExpr(`LAST_INSERT_ID() - ${events.length - 1 - i}`);
  return [
    { sql: "UPDATE outbox_event_seq SET last_id = LAST_INSERT_ID(last_id + ?) WHERE id = 1", args: [events.length] },
    {
      sql: `INSERT INTO outbox_event
       (id, outbox_id, account_id, kind, status, retries, next_attempt_at, provider_message_id, message_id, error, recipient, bounce_reason,
        superseded_by, relay, created_at)
     VALUES ?`,
      args: [
        events.map((e, i) => [
          id(i),
          e.outboxId,
          e.accountId,
          e.kind,
          e.status,
          e.retries,
          e.nextAttemptAt,
          e.providerMessageId,
          e.messageId,
          e.error,
          e.recipient ?? null,
          e.bounceReason ?? null,
          e.supersededBy ?? null,
          e.relay ?? null,
          now,
        ]),
      ],
    },
  ];
}

interface EventDbRow {
  id: number;
  outbox_id: number;
  account_id: number;
  kind: number;
  status: OutboxStatus;
  retries: number;
  next_attempt_at: number | null;
  provider_message_id: string | null;
  message_id: string | null;
  error: string | null;
  recipient: string | null;
  bounce_reason: string | null;
  superseded_by: number | null;
  relay: string | null;
  created_at: number;
  tags_json: unknown;
  metadata_json: unknown;
}

/**
 * Event columns, each event with its row's tags and metadata joined by primary key (they never
 * change, so the event rows need not repeat them; a row retention deleted has none).
 */
const EVENT_COLUMNS = `e.id, e.outbox_id, e.account_id, e.kind, e.status, e.retries, e.next_attempt_at, e.provider_message_id,
  e.message_id, e.error, e.recipient, e.bounce_reason, e.superseded_by, e.relay, e.created_at, o.tags_json, o.metadata_json`;
const EVENTS_FROM = "outbox_event e LEFT JOIN outbox o ON o.id = e.outbox_id";

function toEventRow(r: EventDbRow): EventRow {
  return {
    id: r.id,
    outboxId: r.outbox_id,
    accountId: r.account_id,
    kind: r.kind as EventKind,
    status: r.status,
    retries: r.retries,
    nextAttemptAt: r.next_attempt_at,
    providerMessageId: r.provider_message_id,
    messageId: r.message_id,
    error: r.error,
    recipient: r.recipient,
    bounceReason: r.bounce_reason !== null && isBounceReason(r.bounce_reason) ? r.bounce_reason : null,
    supersededBy: r.superseded_by,
    relay: r.relay,
    createdAt: r.created_at,
    tags: jsonMap(r.tags_json),
    metadata: jsonMap(r.metadata_json),
  };
}

/** Events after `afterId`, oldest first. Ids are gapless, so reading on from the last is exact. */
export async function readEventsAfter(pool: Queryable, afterId: number, limit: number): Promise<EventRow[]> {
  const rows = await select<EventDbRow>(pool, `SELECT ${EVENT_COLUMNS} FROM ${EVENTS_FROM} WHERE e.id > ? ORDER BY e.id LIMIT ?`, [
    afterId,
    limit,
  ]);
  return rows.map(toEventRow);
}

/** These events (with their rows' tags and metadata), in no particular order. */
export async function readEventsByIds(db: Queryable, ids: readonly number[]): Promise<EventRow[]> {
  if (ids.length === 0) return [];
  const rows = await select<EventDbRow>(db, `SELECT ${EVENT_COLUMNS} FROM ${EVENTS_FROM} WHERE e.id IN (?)`, [ids]);
  return rows.map(toEventRow);
}

/** One row's newest `limit` events (through idx_outbox_event_outbox), oldest first. */
export async function readRowEvents(pool: Pool, outboxId: number, limit: number): Promise<EventRow[]> {
  const rows = await select<EventDbRow>(
    pool,
    `SELECT ${EVENT_COLUMNS} FROM ${EVENTS_FROM} WHERE e.outbox_id = ? ORDER BY e.id DESC LIMIT ?`,
    [outboxId, limit],
  );
  return rows.map(toEventRow).reverse();
}

/** The newest event id (0 when there is none): where a live tail starts. */
export async function lastEventId(pool: Pool): Promise<number> {
  const rows = await select<{ last_id: number }>(pool, "SELECT last_id FROM outbox_event_seq WHERE id = 1");
  return Number(rows[0]?.last_id ?? 0);
}

/** The oldest event still kept (0 when there is none), to detect a resume past retention. */
export async function firstEventId(pool: Pool): Promise<number> {
  const rows = await select<{ id: number | null }>(pool, "SELECT MIN(id) AS id FROM outbox_event");
  return Number(rows[0]?.id ?? 0);
}
