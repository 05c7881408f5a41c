// The UID state of each watched IMAP mailbox (see migration 0170): where ingest resumes.
import { inTransaction, type Pool, type Queryable } from "../db/pool.js";
import { select } from "../db/query.js";
import type { Fence } from "../db/fleet-lease.js";

export interface MailboxState {
  uidValidity: bigint;
  lastUid: number;
}

export async function readMailboxState(pool: Queryable, accountId: number, mailbox: string): Promise<MailboxState | undefined> {
  const rows = await select<{ uid_validity: string; last_uid: number | string }>(
    pool,
    "SELECT CAST(uid_validity AS CHAR) AS uid_validity, last_uid FROM imap_mailbox_state WHERE account_id = ? AND mailbox = ?",
    [accountId, mailbox],
  );
  const row = rows[0];
  return row ? { uidValidity: BigInt(row.uid_validity), lastUid: Number(row.last_uid) } : undefined;
}

/**
 * Records that every UID up to lastUid under uidValidity is done. A new UIDVALIDITY replaces the
 * old state; under the same one the UID only moves up, so a late writer cannot move it back.
 */
export async function saveMailboxState(
  pool: Pool,
  accountId: number,
  mailbox: string,
  state: MailboxState,
  now: number,
  fence?: Fence,
): Promise<void> {
  await inTransaction(pool, async (conn) => {
    await fence?.(conn);
    await saveState(conn, accountId, mailbox, state, now);
  });
}

async function saveState(conn: Queryable, accountId: number, mailbox: string, state: MailboxState, now: number): Promise<void> {
  await conn.query(
    `INSERT INTO imap_mailbox_state (account_id, mailbox, uid_validity, last_uid, updated_at) VALUES (?, ?, ?, ?, ?)
     ON DUPLICATE KEY UPDATE
       last_uid = IF(uid_validity = VALUES(uid_validity), GREATEST(last_uid, VALUES(last_uid)), VALUES(last_uid)),
       uid_validity = VALUES(uid_validity),
       updated_at = VALUES(updated_at)`,
    [accountId, mailbox, state.uidValidity.toString(), state.lastUid, now],
  );
}
