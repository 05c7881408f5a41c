// A fresh, migrated database and a pool on it, for tests of the outbox functions themselves
// (no service, no sender): claims, finalize fencing, events.
import { expect, vi } from "vitest";
import { createPool, ensureDatabase, type Pool } from "../../src/db/pool.js";
import { migrate } from "../../src/db/migrate.js";
import { enqueue } from "../../src/outbox/enqueue.js";
import type { Lease } from "../../src/outbox/claims.js";
import { FailureMode, type NewMessage } from "../../src/outbox/types.js";
import { createTestDatabase, type TestDatabase } from "../helpers/db.js";

export interface OutboxDb {
  db: TestDatabase;
  pool: Pool;
  /** Another pool on the same database: a second instance's connections. */
  openPool(connections?: number): Pool;
  /** Ends every pool opened here and drops the database. */
  close(): Promise<void>;
}

export async function openOutboxDb(label: string): Promise<OutboxDb> {
  const db = await createTestDatabase(label);
  await ensureDatabase(db.url);
  const pools: Pool[] = [];
  const openPool = (connections = 10) => {
    const pool = createPool(db.url, connections);
    pools.push(pool);
    return pool;
  };
  const pool = openPool();
  await migrate(pool);
  return {
    db,
    pool,
    openPool,
    async close() {
      await Promise.all(pools.map((p) => p.end()));
      await db.drop();
    },
  };
}

/** A valid message for account 1, due at `sendAt`. */
export function message(sendAt: number, overrides: Partial<NewMessage> = {}): NewMessage {
  return {
    accountId: 1,
    kind: "send",
    from: "Ops <ops@example.com>",
    to: ["bob@example.com"],
    cc: [],
    bcc: [],
    subject: "hello",
    bodyText: "body",
    sendAt,
    failureMode: FailureMode.none,
    ...overrides,
  };
}

/** Enqueues `count` messages, `parallel` transactions at a time; returns their ids in order. */
export async function enqueueMany(
  pool: Pool,
  count: number,
  now: number,
  sendAt: (i: number) => number = () => now,
  parallel = 8,
): Promise<number[]> {
  const ids: number[] = new Array<number>(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      for (let i = next++; i < count; i = next++) ids[i] = (await enqueue(pool, message(sendAt(i)), now)).row.id;
    }),
  );
  return ids;
}

export function lease(owner: string, now: number, leaseMs = 60_000): Lease {
  return { owner, now, leaseMs, messageIdDomain: "mail.test" };
}

/**
 * Resolves once a transaction is waiting for a row lock: the one on connection `threadId`, or
 * with no id any transaction on this pool's database.
 */
export async function waitForLockWait(pool: Pool, threadId?: number): Promise<void> {
  // InnoDB refreshes INNODB_TRX at most every 100 ms while it is being read: poll slower than that.
  await vi.waitFor(
    async () => {
      const [rows] = (await pool.query(
        `SELECT t.trx_mysql_thread_id AS thread FROM information_schema.INNODB_TRX t
         JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id
        WHERE t.trx_state = 'LOCK WAIT' AND p.DB = DATABASE()`,
      )) as unknown as [{ thread: number }[]];
      const waiting = rows.map((r) => Number(r.thread));
      expect(threadId === undefined ? waiting.length : waiting.filter((id) => id === threadId).length).toBeGreaterThan(0);
    },
    { timeout: 20_000, interval: 150 },
  );
}
