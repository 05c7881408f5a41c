// The SQL of webhook deliveries: record events per endpoint from the event table (a cursor),
// claim due deliveries under a lease with SKIP LOCKED, finish them fenced by that lease, and read
// or re-drive them for operators. Per endpoint and outbox row at most one delivery is claimable
// at a time (the others wait), so a row's events reach an endpoint in event order.
import { inTransaction, type Pool, type PoolConnection } from "../db/pool.js";
import { newLeaseToken } from "./claims.js";
import type { EventRow } from "./types.js";
import { readEventsAfter, readEventsByIds } from "./events.js";
import { select, exec } from "../db/query.js";

export interface EndpointKey {
  accountId: number;
  endpointId: string;
}

export type DeliveryStatus = "waiting" | "pending" | "delivering" | "delivered" | "failed";

export interface Delivery {
  eventId: number;
  outboxId: number;
  status: DeliveryStatus;
  attempts: number;
  /** Next attempt (pending) or lease expiry (delivering); null otherwise. */
  dueAt: number | null;
  eventAt: number;
  lastStatus: number | null;
  lastError: string | null;
  lastAttemptAt: number | null;
  deliveredAt: number | null;
}

/** A claimed delivery with the event it carries. */
export interface ClaimedDelivery extends EndpointKey {
  eventId: number;
  outboxId: number;
  attempts: number;
  leaseToken: number;
  eventAt: number;
  /** Undefined when retention deleted the event before it could be delivered. */
  event?: EventRow;
}

/** How an attempt ended, as the dispatcher decided from the answer and the policy. */
export interface DeliveryOutcome {
  status: "delivered" | "pending" | "failed";
  /** For pending: the next attempt. */
  dueAt?: number;
  httpStatus?: number;
  error?: string;
  /** The endpoint answered 2xx (clears its failing state) or not (starts or continues it). */
  endpointOk: boolean;
  /** Pause the endpoint when it has been failing for this long. */
  pauseAfterMs: number;
}

const OPEN = "('waiting', 'pending', 'delivering')";

/** Creates the endpoint's cursor at the newest event: a new endpoint gets events from now on. */
export async function ensureEndpoint(pool: Pool, key: EndpointKey): Promise<void> {
  await pool.query(
    `INSERT IGNORE INTO webhook_endpoint (account_id, endpoint_id, last_event_id)
     SELECT ?, ?, last_id FROM outbox_event_seq WHERE id = 1`,
    [key.accountId, key.endpointId],
  );
}

/**
 * Records deliveries for the events after the endpoint's cursor (up to `limit` scanned) that
 * `wanted` accepts, and moves the cursor. Another instance doing the same for this endpoint holds
 * its row: this one skips it (returns -1). Returns the number of events scanned.
 */
export async function recordDeliveries(
  pool: Pool,
  key: EndpointKey,
  wanted: (e: EventRow) => boolean,
  limit: number,
  now: number,
): Promise<number> {
  return inTransaction(pool, async (conn) => {
    const rows = await select<{ last_event_id: number }>(
      conn,
      "SELECT last_event_id FROM webhook_endpoint WHERE account_id = ? AND endpoint_id = ? FOR UPDATE SKIP LOCKED",
      [key.accountId, key.endpointId],
    );
    if (!rows[0]) return -1;
    const events = await readEventsAfter(conn, Number(rows[0].last_event_id), limit);
    if (events.length === 0) return 0;
    const mine = events.filter((e) => e.accountId === key.accountId && wanted(e));
    if (mine.length > 0) {
      // A row whose earlier event is still open for this endpoint waits behind it.
      const open = await select<{ outbox_id: number }>(
        conn,
        `SELECT DISTINCT outbox_id FROM webhook_delivery WHERE account_id = ? AND endpoint_id = ? AND outbox_id IN (?) AND status IN ${OPEN}`,
        [key.accountId, key.endpointId, [...new Set(mine.map((e) => e.outboxId))]],
      );
      const busy = new Set(open.map((o) => Number(o.outbox_id)));
      const values = mine.map((e) => {
        const waits = busy.has(e.outboxId);
        busy.add(e.outboxId);
        return [key.accountId, key.endpointId, e.id, e.outboxId, waits ? "waiting" : "pending", waits ? null : now, e.createdAt, now];
      });
      await conn.query(
        "INSERT IGNORE INTO webhook_delivery (account_id, endpoint_id, event_id, outbox_id, status, due_at, event_at, updated_at) VALUES ?",
        [values],
      );
    }
    await conn.query("UPDATE webhook_endpoint SET last_event_id = ? WHERE account_id = ? AND endpoint_id = ?", [
      events[events.length - 1]!.id,
      key.accountId,
      key.endpointId,
    ]);
    return events.length;
  });
}

/** The claim: one range scan of idx_webhook_delivery_due, oldest due first. */
export const WEBHOOK_CLAIM_SQL =
  "SELECT event_id, outbox_id, attempts, event_at FROM webhook_delivery WHERE account_id = ? AND endpoint_id = ? AND due_at <= ? ORDER BY due_at, event_id LIMIT ? FOR UPDATE SKIP LOCKED";

/** Claims up to `limit` due deliveries (also expired leases) of an endpoint that is not paused. */
export async function claimDeliveries(
  pool: Pool,
  key: EndpointKey,
  now: number,
  limit: number,
  leaseMs: number,
): Promise<ClaimedDelivery[]> {
  if (limit <= 0) return [];
  const token = newLeaseToken();
  const claimed = await inTransaction(pool, async (conn) => {
    const keys = await select<{ event_id: number; outbox_id: number; attempts: number; event_at: number }>(conn, WEBHOOK_CLAIM_SQL, [
      key.accountId,
      key.endpointId,
      now,
      limit,
    ]);
    if (keys.length === 0) return [];
    await conn.query(
      "UPDATE webhook_delivery SET status = 'delivering', due_at = ?, lease_token = ?, updated_at = ? WHERE account_id = ? AND endpoint_id = ? AND event_id IN (?)",
      [now + leaseMs, token, now, key.accountId, key.endpointId, keys.map((k) => k.event_id)],
    );
    return keys.map(
      (k): ClaimedDelivery => ({
        ...key,
        eventId: Number(k.event_id),
        outboxId: Number(k.outbox_id),
        attempts: k.attempts,
        leaseToken: token,
        eventAt: Number(k.event_at),
      }),
    );
  });
  if (claimed.length === 0) return claimed;
  const events = new Map(
    (
      await readEventsByIds(
        pool,
        claimed.map((c) => c.eventId),
      )
    ).map((e) => [e.id, e]),
  );
  for (const c of claimed) c.event = events.get(c.eventId);
  return claimed;
}

/** One attempt's outcome, to be written if its claim's lease is still held. */
export interface Finished {
  delivery: ClaimedDelivery;
  outcome: DeliveryOutcome;
}

/**
 * Writes attempt outcomes in one transaction, each only if its lease is still held (another
 * instance may have taken an expired claim over); a finished delivery makes its row's next
 * waiting event due. Each endpoint's failure state follows its outcomes in order: a 2xx clears
 * it, a failure starts it or, past pauseAfterMs, pauses the endpoint. Returns the outcomes written.
 */
export async function finishDeliveries(pool: Pool, batch: readonly Finished[], now: number): Promise<Set<Finished>> {
  if (batch.length === 0) return new Set();
  return inTransaction(pool, async (conn) => {
    // Endpoint rows first, in key order: recordDeliveries holds one while it decides which events wait.
    const endpoints = [...new Map(batch.map((f) => [`${f.delivery.accountId}/${f.delivery.endpointId}`, f.delivery])).entries()].sort(
      ([a], [b]) => (a < b ? -1 : 1),
    );
    const failing = new Map<string, number | null>();
    for (const [k, key] of endpoints) {
      const ep = await select<{ failing_since: number | null }>(
        conn,
        "SELECT failing_since FROM webhook_endpoint WHERE account_id = ? AND endpoint_id = ? FOR UPDATE",
        [key.accountId, key.endpointId],
      );
      if (ep[0]) failing.set(k, ep[0].failing_since === null ? null : Number(ep[0].failing_since));
    }
    const written = new Set<Finished>();
    const pauseAfter = new Map<string, number>();
    for (const f of batch) {
      const { delivery: d, outcome } = f;
      const res = await exec(
        conn,
        `UPDATE webhook_delivery SET status = ?, due_at = ?, lease_token = NULL, attempts = attempts + 1, last_status = ?, last_error = ?,
           last_attempt_at = ?, delivered_at = IF(? = 'delivered', ?, delivered_at), updated_at = ?
         WHERE account_id = ? AND endpoint_id = ? AND event_id = ? AND status = 'delivering' AND lease_token = ?`,
        [
          outcome.status,
          outcome.status === "pending" ? outcome.dueAt : null,
          outcome.httpStatus ?? null,
          outcome.error ?? null,
          now,
          outcome.status,
          now,
          now,
          d.accountId,
          d.endpointId,
          d.eventId,
          d.leaseToken,
        ],
      );
      if (res.affectedRows !== 1) continue;
      written.add(f);
      if (outcome.status !== "pending") await releaseNext(conn, d, d.outboxId, now);
      const k = `${d.accountId}/${d.endpointId}`;
      if (!failing.has(k)) continue;
      const since = outcome.endpointOk ? null : (failing.get(k) ?? now);
      failing.set(k, since);
      pauseAfter.set(k, outcome.pauseAfterMs);
    }
    for (const [k, key] of endpoints) {
      if (!pauseAfter.has(k)) continue;
      const since = failing.get(k) ?? null;
      const pause = since !== null && now - since >= pauseAfter.get(k)!;
      await conn.query(
        "UPDATE webhook_endpoint SET failing_since = ?, paused_at = IF(?, COALESCE(paused_at, ?), paused_at) WHERE account_id = ? AND endpoint_id = ?",
        [since, pause, now, key.accountId, key.endpointId],
      );
    }
    return written;
  });
}

/** The row's oldest waiting delivery for this endpoint becomes due now. */
async function releaseNext(conn: PoolConnection, key: EndpointKey, outboxId: number, now: number): Promise<void> {
  await conn.query(
    `UPDATE webhook_delivery SET status = 'pending', due_at = ?, updated_at = ?
     WHERE account_id = ? AND endpoint_id = ? AND outbox_id = ? AND status = 'waiting' ORDER BY event_id LIMIT 1`,
    [now, now, key.accountId, key.endpointId, outboxId],
  );
}

export interface EndpointState {
  pausedAt: number | null;
  failingSince: number | null;
}

/** Pause and failure state of the endpoints that have a row (plain read). */
export async function endpointStates(pool: Pool): Promise<Map<string, EndpointState>> {
  const rows = await select<{ account_id: number; endpoint_id: string; failing_since: number | null; paused_at: number | null }>(
    pool,
    "SELECT account_id, endpoint_id, failing_since, paused_at FROM webhook_endpoint",
  );
  return new Map(
    rows.map((r) => [
      `${r.account_id}/${r.endpoint_id}`,
      {
        pausedAt: r.paused_at === null ? null : Number(r.paused_at),
        failingSince: r.failing_since === null ? null : Number(r.failing_since),
      },
    ]),
  );
}

/** The oldest open delivery's event time per endpoint ("account/endpoint" -> ms). */
export async function oldestOpen(pool: Pool, keys: readonly EndpointKey[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const key of keys) {
    const rows = await select<{ at: number | null }>(
      pool,
      `SELECT MIN(event_at) AS at FROM webhook_delivery WHERE account_id = ? AND endpoint_id = ? AND status IN ${OPEN}`,
      [key.accountId, key.endpointId],
    );
    if (rows[0]?.at != null) out.set(`${key.accountId}/${key.endpointId}`, Number(rows[0].at));
  }
  return out;
}

/** An endpoint's deliveries, newest event first, optionally before an event id (paging). */
export async function listDeliveries(pool: Pool, key: EndpointKey, beforeEventId: number, limit: number): Promise<Delivery[]> {
  const rows = await select<Record<string, number | string | null>>(
    pool,
    `SELECT event_id, outbox_id, status, attempts, due_at, event_at, last_status, last_error, last_attempt_at, delivered_at
       FROM webhook_delivery WHERE account_id = ? AND endpoint_id = ? AND event_id < ? ORDER BY event_id DESC LIMIT ?`,
    [key.accountId, key.endpointId, beforeEventId || Number.MAX_SAFE_INTEGER, limit],
  );
  const n = (v: unknown) => (v === null ? null : Number(v));
  return rows.map((r) => ({
    eventId: Number(r.event_id),
    outboxId: Number(r.outbox_id),
    status: r.status as DeliveryStatus,
    attempts: Number(r.attempts),
    dueAt: n(r.due_at),
    eventAt: Number(r.event_at),
    lastStatus: n(r.last_status),
    lastError: r.last_error as string | null,
    lastAttemptAt: n(r.last_attempt_at),
    deliveredAt: n(r.delivered_at),
  }));
}

/**
 * Re-drives finished deliveries with event ids in [from, to] (at most `limit`): pending, due now,
 * attempts from zero, same webhook-id. Open ones are left as they are. Also lifts a pause.
 */
export async function redeliver(pool: Pool, key: EndpointKey, from: number, to: number, limit: number, now: number): Promise<number> {
  return inTransaction(pool, async (conn) => {
    await conn.query("UPDATE webhook_endpoint SET paused_at = NULL, failing_since = NULL WHERE account_id = ? AND endpoint_id = ?", [
      key.accountId,
      key.endpointId,
    ]);
    const res = await exec(
      conn,
      `UPDATE webhook_delivery SET status = 'pending', due_at = ?, attempts = 0, event_at = GREATEST(event_at, ?), updated_at = ?
       WHERE account_id = ? AND endpoint_id = ? AND event_id BETWEEN ? AND ? AND status IN ('delivered', 'failed') ORDER BY event_id LIMIT ?`,
      [now, now, now, key.accountId, key.endpointId, from, to, limit],
    );
    return res.affectedRows;
  });
}

/**
 * Deletes an endpoint's finished deliveries whose event retention already deleted (ids below
 * `firstKept`), at most `limit`: the history is kept as long as the events are.
 */
export async function pruneDeliveries(pool: Pool, key: EndpointKey, firstKept: number, limit: number): Promise<number> {
  let deleted = 0;
  for (const status of ["delivered", "failed"]) {
    const res = await exec(
      pool,
      "DELETE FROM webhook_delivery WHERE account_id = ? AND endpoint_id = ? AND status = ? AND event_id < ? ORDER BY event_id LIMIT ?",
      [key.accountId, key.endpointId, status, firstKept, limit],
    );
    deleted += res.affectedRows;
  }
  return deleted;
}
