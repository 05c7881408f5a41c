// The outbox_request table (migration 0230): requests to send that applications commit in their
// own transactions. Each is taken once: claimed with FOR UPDATE SKIP LOCKED, and its outbox row
// (when accepted) and its answer are written in the claim's own transaction. A crash before that
// COMMIT leaves the request pending for the next taker; after it, the request is answered. So it
// becomes one row or one refusal, whichever instance takes it and whenever one dies.
import type { Clock } from "../db/clock.js";
import { inTransaction, type Pool, type PoolConnection, type Queryable } from "../db/pool.js";
import { exec, select, selectOne } from "../db/query.js";
import { checkReplay, insertMessages, rowsWithKeys } from "./enqueue.js";
import { OutboxError } from "./errors.js";
import { markSuppressed } from "./suppressed-recipients.js";
import type { NewMessage } from "./types.js";

/** The oldest pending request, from the pending index alone: the read an idle instance repeats. */
export const PENDING_REQUEST_SQL =
  "SELECT id FROM outbox_request FORCE INDEX (idx_outbox_request_pending) WHERE processed_at IS NULL ORDER BY id LIMIT 1";

/** Pending requests oldest first, skipping those another instance holds (and uncommitted ones). */
export const CLAIM_REQUESTS_SQL =
  "SELECT id, account_id, LENGTH(request) AS bytes FROM outbox_request FORCE INDEX (idx_outbox_request_pending) WHERE processed_at IS NULL ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED";

/** error_message holds this many characters. */
const MAX_MESSAGE = 1024;

/** A claimed request. */
export interface PendingRequest {
  id: number;
  accountId: number;
  /** The length of its JSON in bytes. */
  bytes: number;
  /** The JSON; not read (undefined) when it is longer than the limit. */
  json?: string;
}

export interface Refusal {
  /** The ErrorInfo reason Send would answer, e.g. ADDRESS_INVALID. */
  reason: string;
  message: string;
}

/** What a request turned out to be: the message to commit, or why it is refused. */
export type Verdict = { msg: NewMessage } | { refusal: Refusal };

/** How a request was answered. `replay`: an earlier request with its idempotency key made the row. */
export type Answer = { id: number; outboxId: number; replay: boolean } | { id: number; refusal: Refusal };

export interface TakeLimits {
  /** Requests per transaction. */
  batch: number;
  /** JSON bytes read per transaction; the first request is read whatever its size (up to maxRequestBytes). */
  batchBytes: number;
  /** A longer request is never read: it reaches the verdict without its JSON. */
  maxRequestBytes: number;
  /** Multi-row INSERTs get consecutive ids (see insertMessages). */
  consecutiveIds: boolean;
}

/** Judges claimed requests (in the claim's transaction, so keep it to computation). */
export type Judge = (requests: PendingRequest[], now: number) => Promise<Verdict[]>;

export async function hasPendingRequest(db: Queryable): Promise<boolean> {
  const rows = await select<{ id: number }>(db, PENDING_REQUEST_SQL);
  return rows.length > 0;
}

/** How long the oldest pending request has waited, in ms (0: none). */
export async function oldestPendingAgeMs(db: Queryable): Promise<number> {
  const oldest = await selectOne<{ us: number | string }>(
    db,
    "SELECT TIMESTAMPDIFF(MICROSECOND, created_at, UTC_TIMESTAMP(6)) AS us FROM outbox_request FORCE INDEX (idx_outbox_request_pending) WHERE processed_at IS NULL ORDER BY id LIMIT 1",
  );
  return oldest ? Math.max(0, Number(oldest.us) / 1000) : 0;
}

/**
 * Claims up to `limits.batch` pending requests and answers them in one transaction: the accepted
 * ones become outbox rows (a reused idempotency key resolves to its row, or is refused), the
 * others get their refusal. Returns the answers; none when nothing was pending and free.
 */
export async function takeRequests(pool: Pool, clock: Clock, limits: TakeLimits, judge: Judge): Promise<Answer[]> {
  return inTransaction(pool, async (conn) => {
    const keys = await select<{ id: number; account_id: number; bytes: number | string | null }>(conn, CLAIM_REQUESTS_SQL, [limits.batch]);
    const batch = withinBudget(
      keys.map((k) => ({ id: Number(k.id), accountId: Number(k.account_id), bytes: Number(k.bytes ?? 0) })),
      limits,
    );
    if (batch.length === 0) return [];
    await readBodies(conn, batch, limits.maxRequestBytes);
    const now = clock.now();
    const verdicts = await judge(batch, now);
    const answers = await commitVerdicts(conn, batch, verdicts, now, limits.consecutiveIds);
    await writeAnswers(conn, answers);
    return answers;
  });
}

/** Refuses one pending request on its own (one no batch can take); false if it is held or answered. */
export async function refuseRequest(pool: Pool, id: number, refusal: Refusal): Promise<boolean> {
  return inTransaction(pool, async (conn) => {
    const rows = await select<{ id: number }>(
      conn,
      "SELECT id FROM outbox_request WHERE id = ? AND processed_at IS NULL FOR UPDATE SKIP LOCKED",
      [id],
    );
    if (rows.length === 0) return false;
    await writeAnswers(conn, [{ id, refusal }]);
    return true;
  });
}

/** The oldest requests whose JSON fits the batch's bytes (the first always does). */
function withinBudget(rows: PendingRequest[], limits: TakeLimits): PendingRequest[] {
  const out: PendingRequest[] = [];
  let bytes = 0;
  for (const r of rows) {
    const read = r.bytes <= limits.maxRequestBytes ? r.bytes : 0;
    if (out.length > 0 && bytes + read > limits.batchBytes) break;
    bytes += read;
    out.push(r);
  }
  return out;
}

async function readBodies(conn: PoolConnection, batch: PendingRequest[], maxBytes: number): Promise<void> {
  const ids = batch.filter((r) => r.bytes <= maxBytes).map((r) => r.id);
  if (ids.length === 0) return;
  const rows = await select<{ id: number; request: unknown }>(conn, "SELECT id, request FROM outbox_request WHERE id IN (?)", [ids]);
  const byId = new Map(batch.map((r) => [r.id, r]));
  // MariaDB's JSON is text; MySQL's comes back parsed.
  for (const r of rows) byId.get(Number(r.id))!.json = typeof r.request === "string" ? r.request : JSON.stringify(r.request);
}

/**
 * Inserts the accepted messages. A key an outbox row already holds (from Send or an earlier
 * request) answers from that row; a key used twice in the batch is inserted once, and the later
 * requests answer from the first, as Send answers a replay or refuses another payload.
 */
async function commitVerdicts(
  conn: PoolConnection,
  batch: PendingRequest[],
  verdicts: Verdict[],
  now: number,
  consecutiveIds: boolean,
): Promise<Answer[]> {
  const answers = new Array<Answer>(batch.length);
  const accepted: number[] = [];
  verdicts.forEach((v, i) => {
    if ("refusal" in v) answers[i] = { id: batch[i]!.id, refusal: v.refusal };
    else accepted.push(i);
  });
  const msgs = await markSuppressed(
    conn,
    accepted.map((i) => (verdicts[i] as { msg: NewMessage }).msg),
  );
  // The column holds bytes: its value comes back as a Buffer.
  const held = new Map((await rowsWithKeys(conn, msgs)).map((r) => [keyOf(Number(r.account_id), r.idempotency_key!.toString()), r]));
  const fresh: { i: number; msg: NewMessage }[] = [];
  const firstWithKey = new Map<string, number>();
  const repeats: { i: number; msg: NewMessage; first: number }[] = [];
  accepted.forEach((i, j) => {
    const msg = msgs[j]!;
    const key = msg.idempotencyKey === undefined ? undefined : keyOf(msg.accountId, msg.idempotencyKey);
    const row = key === undefined ? undefined : held.get(key);
    if (row) answers[i] = replay(batch[i]!.id, msg, row.request_hash, Number(row.id));
    else if (key !== undefined && firstWithKey.has(key)) repeats.push({ i, msg, first: firstWithKey.get(key)! });
    else {
      if (key !== undefined) firstWithKey.set(key, fresh.length);
      fresh.push({ i, msg });
    }
  });
  const committed =
    fresh.length > 0
      ? await insertMessages(
          conn,
          fresh.map((f) => f.msg),
          now,
          { consecutiveIds },
        )
      : [];
  fresh.forEach((f, k) => (answers[f.i] = { id: batch[f.i]!.id, outboxId: committed[k]!.id, replay: false }));
  for (const r of repeats) answers[r.i] = replay(batch[r.i]!.id, r.msg, fresh[r.first]!.msg.requestHash, committed[r.first]!.id);
  return answers;
}

function keyOf(accountId: number, key: string): string {
  return `${accountId}\u0000${key}`;
}

/** The row's answer to a request repeating its key: the same request gets the row, another is refused. */
function replay(id: number, msg: NewMessage, hash: Buffer | null | undefined, outboxId: number): Answer {
  try {
    checkReplay(msg, hash, outboxId);
    return { id, outboxId, replay: true };
  } catch (err) {
    if (!(err instanceof OutboxError)) throw err;
    return { id, refusal: { reason: err.reason, message: err.message } };
  }
}

/** Thrown when a claimed request was answered meanwhile (only where SKIP LOCKED locks nothing: Galera). */
export class RequestTakenElsewhereError extends Error {}

/** One UPDATE answers every request; each must still be pending, else the transaction rolls back. */
async function writeAnswers(conn: PoolConnection, answers: Answer[]): Promise<void> {
  const byId = (value: (a: Answer) => unknown) => ({
    sql: `CASE id ${answers.map(() => "WHEN ? THEN ?").join(" ")} END`,
    args: answers.flatMap((a) => [a.id, value(a)]),
  });
  const columns = {
    outbox_id: byId((a) => ("outboxId" in a ? a.outboxId : null)),
    error_reason: byId((a) => ("refusal" in a ? a.refusal.reason : null)),
    error_message: byId((a) => ("refusal" in a ? a.refusal.message.slice(0, MAX_MESSAGE) : null)),
  };
  const res = await exec(
    conn,
    `UPDATE outbox_request SET processed_at = UTC_TIMESTAMP(6), ${Object.entries(columns)
      .map(([name, c]) => `${name} = ${c.sql}`)
      .join(", ")}
     WHERE id IN (?) AND processed_at IS NULL`,
    [...Object.values(columns).flatMap((c) => c.args), answers.map((a) => a.id)],
  );
  if (res.affectedRows !== answers.length)
    throw new RequestTakenElsewhereError("a claimed outbox request was answered by another instance");
}
