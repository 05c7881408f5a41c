// Expiry: no attempt starts at or after a row's expire_at. A queued row falls due at its expiry at
// the latest (due_at and claim_at are at most expire_at, migration 0213), so the claim that finds
// it past its expiry moves it to EXPIRED, in the claim's own transaction, instead of leasing it:
// an expired row never waits in the queue for a retry that will not be made.
import type { PoolConnection } from "../db/pool.js";
import { eventOf, fromSql, toSql } from "./lifecycle.js";
import type { NewEvent } from "./types.js";

/** What a claim reads of a row it selected. */
export interface ExpiringKey {
  id: number;
  account_id: number;
  retries: number;
  expire_at: number | null;
}

export function isExpired(expireAt: number | null, now: number): boolean {
  return expireAt !== null && expireAt <= now;
}

/** Takes the rows whose expiry has come out of `keys` (which keeps the others) and returns them. */
export function takeExpired<K extends ExpiringKey>(keys: K[], now: number): K[] {
  const expired = keys.filter((k) => isExpired(k.expire_at, now));
  if (expired.length > 0) keys.splice(0, keys.length, ...keys.filter((k) => !isExpired(k.expire_at, now)));
  return expired;
}

/** Moves queued rows the caller has locked to EXPIRED; returns their events, for the caller to append last. */
export async function expireRows(conn: PoolConnection, keys: readonly ExpiringKey[], now: number): Promise<NewEvent[]> {
  if (keys.length === 0) return [];
  await conn.query(
    `UPDATE outbox SET status = ${toSql("expire")}, next_attempt_at = NULL, updated_at = ? WHERE id IN (?) AND ${fromSql("expire")}`,
    [now, keys.map((k) => k.id)],
  );
  return keys.map((k) => ({
    outboxId: k.id,
    accountId: k.account_id,
    kind: eventOf("expire"),
    status: "expired",
    retries: k.retries,
    nextAttemptAt: null,
    providerMessageId: null,
    messageId: null,
    error: null,
  }));
}
