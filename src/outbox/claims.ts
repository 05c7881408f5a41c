// The sender side of the outbox: claim due rows under a lease, finalize fenced by that lease,
// and hand expired or unstarted claims back without counting an attempt.
import { randomInt } from "node:crypto";
import { appendEvents, eventStatements } from "./events.js";
import type { Fence } from "../db/fleet-lease.js";
import { inTransaction, type Pool, type PoolConnection } from "../db/pool.js";
import { OutboxError } from "./errors.js";
import { recordSentStatement } from "./messages.js";
import { ensurePace, lockPace, savePace, takeSlots, type PacedAccount } from "./pace.js";
import { CLAIM_COLUMNS, attemptMessageId, attemptMessageIdSql, toClaimed, type ClaimDbRow } from "./rows.js";
import { REQUEUED_STATUS_SQL, allows, eventOf, fromSql, requeuedStatus, toSql } from "./lifecycle.js";
import { expireRows, isExpired, takeExpired } from "./expiry.js";
import { ATTEMPT_TRANSITIONS, type AttemptStatus, type Finalization } from "./outcome.js";
import type { ClaimedMessage, NewEvent, OutboxStatus } from "./types.js";
import { execBatch, select, sqlExpr, type SqlPart } from "../db/query.js";

export interface Lease {
  owner: string;
  now: number;
  leaseMs: number;
  messageIdDomain: string;
}

/** What finalize() writes: an attempt's outcome as its row's next state (see outcome.ts). */
export type { Finalization };

interface ClaimKey {
  id: number;
  account_id: number;
  retries: number;
  message_seq: number;
  expire_at: number | null;
}

/** The columns of a ClaimKey. */
const KEY_COLUMNS = "id, account_id, retries, message_seq, expire_at";

/** The lease ends with every status a row leaves SENDING for. */
const END_LEASE = "lease_token = NULL, lease_owner = NULL, lease_expires_at = NULL";

/** Claim order, as both claim indexes hold it; rows another claim holds are skipped. */
const IN_CLAIM_ORDER = "ORDER BY claim_at, due_at, id LIMIT ? FOR UPDATE SKIP LOCKED";

/**
 * A BULK row is claimed as if it were due this much later (claim_at, migration 0055): behind
 * transactional rows due up to this much after it, ahead of later ones, so it is never starved.
 */
export const BULK_HANDICAP_MS = 60_000;

/**
 * The SQL of the claim: one range scan of idx_outbox_claim in claim order, skipping rows not yet
 * due (a transactional row scheduled within the handicap), locked rows, and rows of accounts this
 * instance does not have (another instance may; none is charged for it). Parameters: now plus
 * the handicap, now, the account ids, the limit. Rows past their expire_at are among them: the
 * claim expires them (expiry.ts).
 */
export const CLAIM_SQL = `SELECT ${KEY_COLUMNS} FROM outbox FORCE INDEX (idx_outbox_claim) WHERE claim_at <= ? AND due_at <= ? AND account_id IN (?) ${IN_CLAIM_ORDER}`;

/** The claim of one rate-limited account: its own due rows, in claim order, through idx_outbox_account_claim. */
export const PACED_CLAIM_SQL = `SELECT ${KEY_COLUMNS} FROM outbox FORCE INDEX (idx_outbox_account_claim) WHERE account_id = ? AND claim_at <= ? AND due_at <= ? ${IN_CLAIM_ORDER}`;

/** Rate-limited accounts to claim for, and how far ahead their start slots may be taken. */
export interface Pacing {
  accounts: readonly PacedAccount[];
  horizonMs: number;
}

/**
 * Claims up to `limit` due rows of these accounts for this sender. Rows of rate-limited accounts
 * are claimed only as far as the account's fleet-wide pace has start slots within the horizon;
 * each carries its slot as `notBefore`. Due rows past their expire_at are moved to EXPIRED instead.
 */
export async function claimDue(
  pool: Pool,
  limit: number,
  lease: Lease,
  accountIds: readonly number[],
  pacing?: Pacing,
): Promise<ClaimedMessage[]> {
  const paced = pacing?.accounts.filter((a) => a.max > 0) ?? [];
  const pacedIds = new Set(pacing?.accounts.map((a) => a.id));
  const free = accountIds.filter((id) => !pacedIds.has(id));
  if (free.length === 0 && paced.length === 0) return [];
  if (paced.length > 0)
    await ensurePace(
      pool,
      paced.map((a) => a.id),
    );
  const token = newLeaseToken();
  return inTransaction(pool, async (conn) => {
    let keys: ClaimKey[] = [];
    if (free.length > 0) keys = await select<ClaimKey>(conn, CLAIM_SQL, [lease.now + BULK_HANDICAP_MS, lease.now, free, limit]);
    const expired = takeExpired(keys, lease.now);
    const notBefore =
      paced.length > 0 && keys.length < limit
        ? await claimPaced(conn, paced, limit - keys.length, lease.now, pacing!.horizonMs, keys, expired)
        : new Map<number, number>();
    const expiredEvents = await expireRows(conn, expired, lease.now);
    if (keys.length > 0) await takeLease(conn, keys, token, lease, "claim");
    await appendEvents(conn, expiredEvents, lease.now);
    if (keys.length === 0) return [];
    // Read inside the claim's transaction: rows it claimed are never left leased but unread.
    const claimed = await loadClaimed(
      conn,
      keys.map((k) => k.id),
    );
    for (const c of claimed) c.notBefore = notBefore.get(c.id);
    return claimed;
  });
}

/**
 * Adds to `keys` the due rows of rate-limited accounts that have a start slot soon, taking the
 * slots from their pace rows (locked until the claim commits), and to `expired` those past their
 * expiry, which take no slot. Returns each row's slot.
 */
async function claimPaced(
  conn: PoolConnection,
  accounts: readonly PacedAccount[],
  limit: number,
  now: number,
  horizonMs: number,
  keys: ClaimKey[],
  expired: ClaimKey[],
): Promise<Map<number, number>> {
  const notBefore = new Map<number, number>();
  const candidates = new Map<number, ClaimKey[]>();
  for (const a of accounts) {
    if (keys.length >= limit) break;
    // At most what the account could start within the horizon, counting its burst.
    const most = Math.min(a.max, limit - keys.length, a.burst + Math.ceil((horizonMs * a.maxPerSecond) / 1000));
    const rows = await select<ClaimKey>(conn, PACED_CLAIM_SQL, [a.id, now + BULK_HANDICAP_MS, now, most]);
    expired.push(...takeExpired(rows, now));
    if (rows.length > 0) candidates.set(a.id, rows);
  }
  if (candidates.size === 0) return notBefore;
  const tats = await lockPace(conn, [...candidates.keys()]);
  const moved = new Map<number, number>();
  for (const a of accounts) {
    const rows = candidates.get(a.id);
    if (!rows) continue;
    const slots = takeSlots(tats.get(a.id) ?? 0, now, horizonMs, { ...a, max: rows.length });
    if (slots.starts.length === 0) continue;
    moved.set(a.id, slots.tat);
    // Rows beyond the slots stay as they are: locked by this claim until it commits, then due again.
    slots.starts.forEach((start, i) => {
      keys.push(rows[i]!);
      notBefore.set(rows[i]!.id, start);
    });
  }
  await savePace(conn, moved);
  return notBefore;
}

/**
 * RetryOutbox: claims one row now, whatever its due time when `force`. Sent, sending and
 * cancelled rows are refused; so is a row not yet due without `force` (due exactly now is due),
 * and a row past its expire_at (the claim expires it if it is queued).
 */
export async function claimForRetry(
  pool: Pool,
  id: number,
  force: boolean,
  lease: Lease,
  pacedAccounts: readonly PacedAccount[] = [],
): Promise<ClaimedMessage> {
  const token = newLeaseToken();
  if (pacedAccounts.length > 0)
    await ensurePace(
      pool,
      pacedAccounts.map((a) => a.id),
    );
  return inTransaction(pool, async (conn) => {
    const rows = await select<ClaimKey & { status: OutboxStatus; next_attempt_at: number | null }>(
      conn,
      `SELECT ${KEY_COLUMNS}, status, next_attempt_at FROM outbox WHERE id = ? FOR UPDATE`,
      [id],
    );
    const row = rows[0];
    if (!row) throw new OutboxError("OUTBOX_NOT_FOUND", "outbox record not found", { outbox_id: String(id) });
    if (!allows("retry", row.status)) {
      throw new OutboxError("RETRY_NOT_ALLOWED_FOR_STATUS", "retry_not_allowed_for_status", { status: row.status });
    }
    if (isExpired(row.expire_at, lease.now)) {
      throw new OutboxError("MESSAGE_EXPIRED", "the message expired: it is not attempted again", {
        expire_at: new Date(row.expire_at!).toISOString(),
      });
    }
    if (!force && row.status !== "dead" && row.next_attempt_at !== null && row.next_attempt_at > lease.now) {
      throw new OutboxError("RETRY_NOT_DUE", "retry_not_due", { next_attempt_at: new Date(row.next_attempt_at).toISOString() });
    }
    const taken = [row];
    await takeLease(conn, taken, token, lease, "retry");
    if (taken.length === 0) throw new OutboxError("RETRY_NOT_ALLOWED_FOR_STATUS", "retry_not_allowed_for_status", { status: "sending" });
    const [claimed] = await loadClaimed(conn, [id]);
    // A retry goes ahead of the queue but not past its account's fleet-wide pace: it takes the next slot.
    const paced = pacedAccounts.find((a) => a.id === Number(row.account_id));
    if (paced) {
      const slots = takeSlots((await lockPace(conn, [paced.id])).get(paced.id) ?? 0, lease.now, Infinity, { ...paced, max: 1 });
      await savePace(conn, new Map([[paced.id, slots.tat]]));
      claimed!.notBefore = slots.starts[0];
    }
    return claimed!;
  });
}

/**
 * Leases the rows the claim selected, re-checking the status each was claimed from: on one server
 * `SKIP LOCKED` has locked them, but an engine that locks nothing there (a Galera cluster across
 * nodes) may have let another claimer take one first. Only the rows this UPDATE changed are
 * claimed; `keys` is narrowed to them.
 */
async function takeLease(conn: PoolConnection, keys: ClaimKey[], token: number, lease: Lease, by: "claim" | "retry"): Promise<void> {
  const [res] = (await conn.query(
    `UPDATE outbox SET status = ${toSql(by)}, lease_token = ?, lease_owner = ?, lease_expires_at = ?, updated_at = ?,
       message_id = ?
     WHERE id IN (?) AND ${fromSql(by)}`,
    [
      token,
      lease.owner,
      lease.now + lease.leaseMs,
      lease.now,
      attemptMessageIdSql(sqlExpr("id"), sqlExpr("message_seq"), lease.messageIdDomain),
      keys.map((k) => k.id),
    ],
  )) as unknown as [{ affectedRows: number }];
  if (res.affectedRows < keys.length) {
    const [mine] = (await conn.query("SELECT id FROM outbox WHERE id IN (?) AND lease_token = ?", [
      keys.map((k) => k.id),
      token,
    ])) as unknown as [{ id: number }[]];
    const taken = new Set(mine.map((r) => Number(r.id)));
    keys.splice(0, keys.length, ...keys.filter((k) => taken.has(Number(k.id))));
    if (keys.length === 0) return;
  }
  await appendEvents(
    conn,
    keys.map((k) => ({
      outboxId: k.id,
      accountId: k.account_id,
      kind: eventOf(by),
      status: "sending",
      retries: k.retries,
      nextAttemptAt: null,
      providerMessageId: null,
      messageId: attemptMessageId(k.id, k.message_seq, lease.messageIdDomain),
      error: null,
    })),
    lease.now,
  );
}

async function loadClaimed(conn: PoolConnection, ids: number[]): Promise<ClaimedMessage[]> {
  if (ids.length === 0) return [];
  const rows = await select<ClaimDbRow>(conn, `SELECT ${CLAIM_COLUMNS} FROM outbox WHERE id IN (?) ORDER BY id`, [ids]);
  return rows.map(toClaimed);
}

/**
 * Writes attempt outcomes in one transaction, fenced by the lease token: a sender whose lease
 * expired (and whose row another sender now owns) changes nothing. All rows are written by one
 * UPDATE whose WHERE holds the fence; when it matches every row (the usual case) that is the
 * whole check. When a lease was lost the transaction is rolled back and run again with the rows
 * locked first, to learn which outcomes still hold their lease. Returns the ids that were written.
 */
export async function finalize(pool: Pool, results: Finalization[], now: number): Promise<Set<number>> {
  // A row's first outcome in the batch wins, as a second UPDATE of it would find it finalized.
  const seen = new Set<number>();
  const outcomes = results.filter((r) => !seen.has(r.id) && seen.add(r.id));
  if (outcomes.length === 0) return new Set();
  try {
    return await inTransaction(pool, async (conn) => {
      if ((await writeOutcomes(conn, outcomes, now)) !== outcomes.length) throw new LeaseLost();
      return new Set(outcomes.map((r) => r.id));
    });
  } catch (err) {
    if (!(err instanceof LeaseLost)) throw err;
  }
  return inTransaction(pool, async (conn) => {
    const held = await select<{ id: number; lease_token: number | null }>(
      conn,
      `SELECT id, lease_token FROM outbox WHERE id IN (?) AND ${fromSql("accepted")} FOR UPDATE`,
      [outcomes.map((r) => r.id)],
    );
    const leases = new Map(held.map((h) => [Number(h.id), Number(h.lease_token)]));
    const mine = outcomes.filter((r) => leases.get(r.id) === r.leaseToken);
    if (mine.length === 0) return new Set<number>();
    await writeOutcomes(conn, mine, now);
    return new Set(mine.map((r) => r.id));
  });
}

class LeaseLost extends Error {}

/**
 * One UPDATE for all outcomes, each column taking its row's value chosen by id, and only where
 * the row is still under the outcome's lease; then, in the same round trip, the sent mail as
 * messages the account holds and the events. Returns the rows the UPDATE matched (when it is
 * fewer than the outcomes, the caller rolls the whole batch back).
 */
async function writeOutcomes(conn: PoolConnection, rows: Finalization[], now: number): Promise<number> {
  const [outcomes] = await execBatch(conn, [
    outcomesStatement(rows, now),
    // Mail we sent becomes a message the account holds, so a Reply to it finds its parent.
    ...recordSentStatement(
      rows.filter((r) => r.status === "sent").map((r) => r.id),
      now,
    ),
    ...eventStatements(
      rows.map((r) => ({
        outboxId: r.id,
        accountId: r.accountId,
        kind: eventOf(r.transition ?? ATTEMPT_TRANSITIONS[r.status as AttemptStatus]),
        status: r.status,
        retries: r.retries,
        nextAttemptAt: r.nextAttemptAt,
        providerMessageId: r.providerMessageId,
        messageId: r.messageId,
        error: r.error,
        relay: r.relay?.used ?? null,
      })),
      now,
    ),
  ]);
  return outcomes!.affectedRows;
}

function outcomesStatement(rows: Finalization[], now: number): SqlPart {
  const byId = (list: Finalization[], value: (r: Finalization) => unknown, otherwise = "NULL") => ({
    sql: `CASE id ${list.map(() => "WHEN ? THEN ?").join(" ")} ELSE ${otherwise} END`,
    args: list.flatMap((r) => [r.id, value(r)]),
  });
  const sent = rows.filter((r) => r.status === "sent");
  const relayed = rows.filter((r) => r.relay);
  const columns = {
    status: byId(rows, (r) => r.status),
    retries: byId(rows, (r) => r.retries),
    message_seq: byId(rows, (r) => r.messageSeq ?? r.retries),
    next_attempt_at: byId(rows, (r) => r.nextAttemptAt),
    provider_message_id: byId(rows, (r) => r.providerMessageId),
    last_error: byId(rows, (r) => r.error),
    last_error_class: byId(rows, (r) => r.errorClass),
    // sent_at changes only for rows now sent.
    sent_at: sent.length ? byId(sent, () => now, "sent_at") : { sql: "sent_at", args: [] },
    // A sent message's composed bytes are not needed again (a forced retry composes anew).
    mime: sent.length ? byId(sent, () => null, "mime") : { sql: "mime", args: [] },
    // Where the row stands in its round of relays, for outcomes that say.
    ...(relayed.length
      ? { relay: byId(relayed, (r) => r.relay!.row, "relay"), relay_hops: byId(relayed, (r) => r.relay!.hops, "relay_hops") }
      : {}),
  };
  const fence = byId(rows, (r) => r.leaseToken);
  return {
    sql: `UPDATE outbox SET ${Object.entries(columns)
      .map(([name, c]) => `${name} = ${c.sql}`)
      .join(", ")}, updated_at = ?,
       rescues = 0, ${END_LEASE}
     WHERE id IN (?) AND ${fromSql("accepted")} AND lease_token = ${fence.sql}`,
    args: [...Object.values(columns).flatMap((c) => c.args), now, rows.map((r) => r.id), ...fence.args],
  };
}

export interface Rescued {
  /** Back in the queue, due now, retries unchanged. */
  requeued: number;
  /** Past the rescue limit: DEAD with RESCUE_LIMIT. */
  dead: number;
}

/**
 * Rows whose lease expired go back to the queue, due now, with retries unchanged; a row rescued
 * `maxRescues` times with no attempt finished in between goes DEAD instead (RESCUE_LIMIT).
 */
export async function rescueExpired(pool: Pool, now: number, limit: number, maxRescues: number, fence?: Fence): Promise<Rescued> {
  return inTransaction(pool, async (conn) => {
    await fence?.(conn);
    const keys = await select<ClaimKey & { rescues: number }>(
      conn,
      `SELECT ${KEY_COLUMNS}, rescues FROM outbox WHERE ${fromSql("rescue")} AND lease_expires_at <= ? LIMIT ? FOR UPDATE SKIP LOCKED`,
      [now, limit],
    );
    const poison = keys.filter((k) => k.rescues + 1 > maxRescues);
    const again = keys.filter((k) => k.rescues + 1 <= maxRescues);
    if (again.length > 0) await conn.query("UPDATE outbox SET rescues = rescues + 1 WHERE id IN (?)", [again.map((k) => k.id)]);
    const events = await requeue(conn, again, now, "rescue");
    if (poison.length > 0) {
      const error = `the lease expired ${maxRescues + 1} times with no attempt finished: the message stalls or crashes its sender`;
      await conn.query(
        `UPDATE outbox SET status = ${toSql("rescueLimit")}, next_attempt_at = NULL, last_error = ?, last_error_class = 'RESCUE_LIMIT',
           updated_at = ?, ${END_LEASE}
         WHERE id IN (?)`,
        [error, now, poison.map((k) => k.id)],
      );
      for (const k of poison) {
        events.push({
          outboxId: k.id,
          accountId: k.account_id,
          kind: eventOf("rescueLimit"),
          status: "dead",
          retries: k.retries,
          nextAttemptAt: null,
          providerMessageId: null,
          messageId: null,
          error,
        });
      }
    }
    await appendEvents(conn, events, now);
    return { requeued: again.length, dead: poison.length };
  });
}

/**
 * A sender hands back claims it never started, fenced by its lease token: due now, or at `dueAt`
 * (a rate-limited or paused account's turn).
 */
export async function releaseClaims(
  pool: Pool,
  claims: (Pick<ClaimedMessage, "id" | "leaseToken"> & { dueAt?: number })[],
  now: number,
): Promise<number> {
  if (claims.length === 0) return 0;
  return inTransaction(pool, async (conn) => {
    const keys = await select<ClaimKey>(
      conn,
      `SELECT ${KEY_COLUMNS} FROM outbox WHERE ${fromSql("release")} AND (id, lease_token) IN (?) FOR UPDATE`,
      [claims.map((c) => [c.id, c.leaseToken])],
    );
    const dueAt = new Map(claims.map((c) => [c.id, c.dueAt ?? now]));
    await appendEvents(conn, await requeue(conn, keys, now, "release", (id) => dueAt.get(id) ?? now), now);
    return keys.length;
  });
}

/** Puts rows back in the queue (due at `dueOf`); returns their events, for the caller to append last. */
async function requeue(
  conn: PoolConnection,
  keys: ClaimKey[],
  now: number,
  by: "rescue" | "release",
  dueOf: (id: number) => number = () => now,
): Promise<NewEvent[]> {
  if (keys.length === 0) return [];
  const byDue = new Map<number, number[]>();
  for (const k of keys) byDue.set(dueOf(k.id), [...(byDue.get(dueOf(k.id)) ?? []), k.id]);
  for (const [due, ids] of byDue) {
    await conn.query(
      `UPDATE outbox SET status = ${REQUEUED_STATUS_SQL}, next_attempt_at = ?, updated_at = ?, ${END_LEASE} WHERE id IN (?)`,
      [due, now, ids],
    );
  }
  return keys.map((k) => ({
    outboxId: k.id,
    accountId: k.account_id,
    kind: eventOf(by),
    status: requeuedStatus(k.retries),
    retries: k.retries,
    nextAttemptAt: dueOf(k.id),
    providerMessageId: null,
    messageId: null,
    error: null,
  }));
}

/** Tokens only need to differ between two claims of the same row; 48 random bits suffice. */
export function newLeaseToken(): number {
  return randomInt(1, 2 ** 48);
}
