// The sender side of the outbox: claim due rows under a lease, finalize fenced by that lease,
// and hand expired or unstarted claims back without counting an attempt.
import { randomInt } from "node:crypto";
import { appendEvents } from "./events.js";
import { inTransaction, type Pool, type PoolConnection } from "./db.js";
import { OutboxError } from "./errors.js";
import { recordSent } from "./messages.js";
import { CLAIM_COLUMNS, attemptMessageId, toClaimed } from "./rows.js";
import { EventKind, type ClaimedMessage, type NewEvent, type OutboxStatus } from "./types.js";

export interface Lease {
  owner: string;
  now: number;
  leaseMs: number;
  messageIdDomain: string;
}

/** What an attempt left the row as; written only while the lease is still ours. */
export interface Finalization {
  id: number;
  accountId: number;
  leaseToken: number;
  messageId: string;
  status: "sent" | "failed" | "dead";
  retries: number;
  nextAttemptAt: number | null;
  providerMessageId: string | null;
  error: string | null;
  errorClass: string | null;
}

interface ClaimKey {
  id: number;
  account_id: number;
  retries: number;
}

/** The SQL of the claim: one range scan of idx_outbox_due, oldest first, skipping locked rows. */
export const CLAIM_SQL = "SELECT id, account_id, retries FROM outbox WHERE due_at <= ? ORDER BY due_at, id LIMIT ? FOR UPDATE SKIP LOCKED";

/** Claims up to `limit` due rows for this sender. */
export async function claimDue(pool: Pool, limit: number, lease: Lease): Promise<ClaimedMessage[]> {
  const token = newLeaseToken();
  const ids = await inTransaction(pool, async (conn) => {
    const [keys] = (await conn.query(CLAIM_SQL, [lease.now, limit])) as unknown as [ClaimKey[]];
    if (keys.length === 0) return [];
    await takeLease(conn, keys, token, lease, EventKind.sending);
    return keys.map((k) => k.id);
  });
  return loadClaimed(pool, ids);
}

/**
 * RetryOutbox: claims one row now, whatever its due time when `force`. Sent, sending and
 * cancelled rows are refused; so is a row not yet due without `force` (due exactly now is due).
 */
export async function claimForRetry(pool: Pool, id: number, force: boolean, lease: Lease): Promise<ClaimedMessage> {
  const token = newLeaseToken();
  await inTransaction(pool, async (conn) => {
    const [rows] = (await conn.query(
      "SELECT id, account_id, retries, status, next_attempt_at FROM outbox WHERE id = ? FOR UPDATE",
      [id],
    )) as unknown as [(ClaimKey & { status: OutboxStatus; next_attempt_at: number | null })[]];
    const row = rows[0];
    if (!row) throw new OutboxError("OUTBOX_NOT_FOUND", "outbox record not found", { outbox_id: String(id) });
    if (row.status !== "pending" && row.status !== "failed" && row.status !== "dead") {
      throw new OutboxError("RETRY_NOT_ALLOWED_FOR_STATUS", "retry_not_allowed_for_status", { status: row.status });
    }
    if (!force && row.status !== "dead" && row.next_attempt_at !== null && row.next_attempt_at > lease.now) {
      throw new OutboxError("RETRY_NOT_DUE", "retry_not_due", { next_attempt_at: new Date(row.next_attempt_at).toISOString() });
    }
    await takeLease(conn, [row], token, lease, EventKind.retried);
  });
  const [claimed] = await loadClaimed(pool, [id]);
  return claimed!;
}

async function takeLease(conn: PoolConnection, keys: ClaimKey[], token: number, lease: Lease, kind: EventKind): Promise<void> {
  await conn.query(
    `UPDATE outbox SET status = 'sending', lease_token = ?, lease_owner = ?, lease_expires_at = ?, updated_at = ?,
       message_id = CONCAT('<outbox-', id, '-', retries, '@', ?, '>')
     WHERE id IN (?)`,
    [token, lease.owner, lease.now + lease.leaseMs, lease.now, lease.messageIdDomain, keys.map((k) => k.id)],
  );
  await appendEvents(conn, keys.map((k) => ({
    outboxId: k.id, accountId: k.account_id, kind, status: "sending", retries: k.retries, nextAttemptAt: null,
    providerMessageId: null, messageId: attemptMessageId(k.id, k.retries, lease.messageIdDomain), error: null,
  })), lease.now);
}

async function loadClaimed(pool: Pool, ids: number[]): Promise<ClaimedMessage[]> {
  if (ids.length === 0) return [];
  const [rows] = (await pool.query(`SELECT ${CLAIM_COLUMNS} FROM outbox WHERE id IN (?) ORDER BY id`, [ids])) as unknown as [
    Parameters<typeof toClaimed>[0][],
  ];
  return rows.map(toClaimed);
}

/**
 * Writes attempt outcomes in one transaction. Each UPDATE is fenced by the lease token, so a
 * sender whose lease expired (and whose row another sender now owns) changes nothing.
 * Returns the ids that were written.
 */
export async function finalize(pool: Pool, results: Finalization[], now: number): Promise<Set<number>> {
  if (results.length === 0) return new Set();
  return inTransaction(pool, async (conn) => {
    const written = new Set<number>();
    const events: NewEvent[] = [];
    for (const r of results) {
      const [res] = (await conn.query(
        `UPDATE outbox SET status = ?, retries = ?, next_attempt_at = ?, provider_message_id = ?, last_error = ?,
           last_error_class = ?, sent_at = IF(? = 'sent', ?, sent_at), updated_at = ?,
           lease_token = NULL, lease_owner = NULL, lease_expires_at = NULL
         WHERE id = ? AND status = 'sending' AND lease_token = ?`,
        [r.status, r.retries, r.nextAttemptAt, r.providerMessageId, r.error, r.errorClass, r.status, now, now, r.id, r.leaseToken],
      )) as unknown as [{ affectedRows: number }];
      if (res.affectedRows !== 1) continue;
      written.add(r.id);
      events.push({
        outboxId: r.id, accountId: r.accountId, kind: EventKind[r.status], status: r.status, retries: r.retries,
        nextAttemptAt: r.nextAttemptAt, providerMessageId: r.providerMessageId, messageId: r.messageId, error: r.error,
      });
    }
    // Mail we sent becomes a message the account holds, so a Reply to it finds its parent.
    await recordSent(conn, results.filter((r) => r.status === "sent" && written.has(r.id)).map((r) => r.id), now);
    await appendEvents(conn, events, now);
    return written;
  });
}

/** Rows whose lease expired go back to the queue, due now, with retries unchanged. */
export async function rescueExpired(pool: Pool, now: number, limit: number): Promise<number> {
  return inTransaction(pool, async (conn) => {
    const [keys] = (await conn.query(
      "SELECT id, account_id, retries FROM outbox WHERE status = 'sending' AND lease_expires_at <= ? LIMIT ? FOR UPDATE SKIP LOCKED",
      [now, limit],
    )) as unknown as [ClaimKey[]];
    await requeue(conn, keys, now, EventKind.leaseRescued);
    return keys.length;
  });
}

/** A stopping sender hands back claims it never started, fenced by its lease token. */
export async function releaseClaims(pool: Pool, claims: Pick<ClaimedMessage, "id" | "leaseToken">[], now: number): Promise<number> {
  if (claims.length === 0) return 0;
  return inTransaction(pool, async (conn) => {
    const [keys] = (await conn.query(
      `SELECT id, account_id, retries FROM outbox WHERE status = 'sending' AND (id, lease_token) IN (?) FOR UPDATE`,
      [claims.map((c) => [c.id, c.leaseToken])],
    )) as unknown as [ClaimKey[]];
    await requeue(conn, keys, now, EventKind.released);
    return keys.length;
  });
}

async function requeue(conn: PoolConnection, keys: ClaimKey[], now: number, kind: EventKind): Promise<void> {
  if (keys.length === 0) return;
  await conn.query(
    `UPDATE outbox SET status = IF(retries = 0, 'pending', 'failed'), next_attempt_at = ?, updated_at = ?,
       lease_token = NULL, lease_owner = NULL, lease_expires_at = NULL
     WHERE id IN (?)`,
    [now, now, keys.map((k) => k.id)],
  );
  await appendEvents(conn, keys.map((k) => ({
    outboxId: k.id, accountId: k.account_id, kind, status: k.retries === 0 ? "pending" : "failed", retries: k.retries,
    nextAttemptAt: now, providerMessageId: null, messageId: null, error: null,
  })), now);
}

/** Tokens only need to differ between two claims of the same row; 48 random bits suffice. */
function newLeaseToken(): number {
  return randomInt(1, 2 ** 48);
}
