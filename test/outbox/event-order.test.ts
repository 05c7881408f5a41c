// Event ids become visible in commit order with no gaps, so a reader that continues from the last
// id it saw can never skip a late-committing transaction's event.
import { afterAll, beforeAll, expect, test, vi } from "vitest";
import { appendEvents, lastEventId, readEventsAfter } from "../../src/outbox/events.js";
import { inTransaction, type Pool, type PoolConnection } from "../../src/db/pool.js";
import { EventKind, type NewEvent } from "../../src/outbox/types.js";
import { openOutboxDb, waitForLockWait, type OutboxDb } from "./outbox-db.js";

const NOW = 1_700_000_000_000;
let o: OutboxDb;

beforeAll(async () => {
  o = await openOutboxDb("event_order");
});
afterAll(() => o?.close());

function events(outboxId: number, count = 1): NewEvent[] {
  return Array.from({ length: count }, () => ({
    outboxId,
    accountId: 1,
    kind: EventKind.created,
    status: "pending",
    retries: 0,
    nextAttemptAt: NOW,
    providerMessageId: null,
    messageId: null,
    error: null,
  }));
}

async function begin(pool: Pool): Promise<PoolConnection> {
  const conn = await pool.getConnection();
  await conn.beginTransaction();
  return conn;
}

/** Ids visible to a fresh reader right now. */
async function visible(): Promise<number[]> {
  return (await readEventsAfter(o.pool, 0, 10_000)).map((e) => e.id);
}

/**
 * Tails the log the way the watch tailer does (read after the last id seen) until stopped, and
 * records every id in the order seen; `gaps` lists any id that did not follow its predecessor.
 */
function tail(pool: Pool) {
  const seen: number[] = [];
  const gaps: string[] = [];
  let stopped = false;
  const done = (async () => {
    while (!stopped) {
      for (const e of await readEventsAfter(pool, seen.at(-1) ?? 0, 1000)) {
        if (e.id !== (seen.at(-1) ?? 0) + 1) gaps.push(`${seen.at(-1) ?? 0} -> ${e.id}`);
        seen.push(e.id);
      }
      await new Promise((r) => setImmediate(r));
    }
  })();
  return {
    seen,
    gaps,
    async stop(upTo: number) {
      await vi.waitFor(() => expect(seen.at(-1) ?? 0).toBe(upTo), { timeout: 20_000 });
      stopped = true;
      await done;
    },
  };
}

test("a transaction appending while another holds ids waits, then gets the later ids", async () => {
  const tailer = tail(o.openPool(2));
  await inTransaction(o.pool, (conn) => appendEvents(conn, events(100), NOW));
  expect(await visible()).toEqual([1]);

  const a = await begin(o.pool);
  const b = await begin(o.pool);
  try {
    await appendEvents(a, events(200, 2), NOW);
    expect(await visible()).toEqual([1]); // A's ids 2, 3 are not committed

    let bAppended = false;
    const bAppend = appendEvents(b, events(300), NOW).then(() => (bAppended = true));
    await waitForLockWait(o.pool, b.threadId);
    expect(bAppended).toBe(false);
    expect(await visible()).toEqual([1]);

    await a.commit();
    await bAppend;
    expect(await visible()).toEqual([1, 2, 3]); // B holds 4, uncommitted
    await b.commit();
    const all = await readEventsAfter(o.pool, 0, 100);
    expect(all.map((e) => [e.id, e.outboxId])).toEqual([
      [1, 100],
      [2, 200],
      [3, 200],
      [4, 300],
    ]);
  } finally {
    a.release();
    b.release();
  }
  await tailer.stop(4);
  expect(tailer.gaps).toEqual([]);
  expect(tailer.seen).toEqual([1, 2, 3, 4]);
});

test("a rolled-back transaction gives its ids back: the next commit continues without a gap", async () => {
  const before = await lastEventId(o.pool);
  const c = await begin(o.pool);
  try {
    await appendEvents(c, events(400, 3), NOW);
    await c.rollback();
  } finally {
    c.release();
  }
  expect(await lastEventId(o.pool)).toBe(before);
  await inTransaction(o.pool, (conn) => appendEvents(conn, events(500), NOW));
  const after = await readEventsAfter(o.pool, before, 100);
  expect(after.map((e) => [e.id, e.outboxId])).toEqual([[before + 1, 500]]);
});

test("many concurrent appenders, some rolling back: a tailing reader sees every id once, in order", async () => {
  const start = await lastEventId(o.pool);
  const tailer = tail(o.openPool(2));
  const results = await Promise.allSettled(
    Array.from({ length: 60 }, (_, i) =>
      inTransaction(o.pool, async (conn) => {
        await appendEvents(conn, events(1000 + i, 1 + (i % 3)), NOW);
        if (i % 5 === 0) throw new Error("roll back");
      }),
    ),
  );
  const committed = results.map((r, i) => (r.status === "fulfilled" ? 1 + (i % 3) : 0)).reduce((x, y) => x + y, 0);
  expect(results.filter((r) => r.status === "rejected")).toHaveLength(12);
  const end = start + committed;
  expect(await lastEventId(o.pool)).toBe(end);
  await tailer.stop(end);
  expect(tailer.gaps).toEqual([]);
  expect(tailer.seen).toEqual(Array.from({ length: end }, (_, i) => i + 1));
});
