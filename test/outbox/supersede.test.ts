// Superseding on the real database: the read of the rows a commit supersedes is a range of its
// index, the last message of a batch wins, a row a sender holds is left alone, and two
// transactions committing the same key at once leave only the newer row in the queue.
import { afterAll, beforeAll, expect, test } from "vitest";
import { enqueue, insertMessages } from "../../src/outbox/enqueue.js";
import { claimDue } from "../../src/outbox/claims.js";
import { inTransaction } from "../../src/db/pool.js";
import { olderRowsSql, supersededInBatch } from "../../src/outbox/supersede.js";
import { EventKind, type NewMessage } from "../../src/outbox/types.js";
import { lease, message, openOutboxDb, waitForLockWait, type OutboxDb } from "./outbox-db.js";

const NOW = 1_767_225_600_000;
let o: OutboxDb;

beforeAll(async () => {
  o = await openOutboxDb("supersede");
});
afterAll(() => o?.close());

const keyed = (collapseKey: string, overrides: Partial<NewMessage> = {}) => message(NOW, { collapseKey, ...overrides });

async function rows(ids: number[]): Promise<Map<number, { status: string; superseded_by: number | null }>> {
  const [list] = (await o.pool.query("SELECT id, status, superseded_by FROM outbox WHERE id IN (?)", [ids])) as unknown as [
    { id: number; status: string; superseded_by: number | null }[],
  ];
  return new Map(
    list.map((r) => [Number(r.id), { status: r.status, superseded_by: r.superseded_by === null ? null : Number(r.superseded_by) }]),
  );
}

async function cancelEvents(ids: number[]): Promise<{ outbox_id: number; superseded_by: number | null }[]> {
  const [list] = (await o.pool.query("SELECT outbox_id, superseded_by FROM outbox_event WHERE outbox_id IN (?) AND kind = ? ORDER BY id", [
    ids,
    EventKind.cancelled,
  ])) as unknown as [{ outbox_id: number; superseded_by: number | null }[]];
  return list.map((e) => ({ outbox_id: Number(e.outbox_id), superseded_by: e.superseded_by === null ? null : Number(e.superseded_by) }));
}

test("supersededInBatch: per account and key, every message but the last", () => {
  const msgs = [
    { accountId: 1, collapseKey: "a" },
    { accountId: 2, collapseKey: "a" },
    { accountId: 1 },
    { accountId: 1, collapseKey: "a" },
    { accountId: 1, collapseKey: "b" },
  ];
  expect(supersededInBatch(msgs)).toEqual([true, false, false, false, false]);
});

test("a commit cancels the queued rows of its account and key, older ones of its own batch included; the last wins", async () => {
  const before = (await enqueue(o.pool, keyed("order-1"), NOW)).row.id;
  const other = (await enqueue(o.pool, keyed("order-1", { accountId: 2 }), NOW)).row.id;
  const unkeyed = (await enqueue(o.pool, message(NOW), NOW)).row.id;
  const committed = await inTransaction(o.pool, (conn) =>
    insertMessages(conn, [keyed("order-1"), keyed("order-2"), keyed("order-1")], NOW, { consecutiveIds: true }),
  );
  const [first, second, last] = committed.map((c) => c.id) as [number, number, number];
  expect(committed.map((c) => c.supersededBy)).toEqual([last, undefined, undefined]);
  const state = await rows([before, other, unkeyed, first, second, last]);
  expect(Object.fromEntries(state)).toEqual({
    [before]: { status: "cancelled", superseded_by: last },
    [other]: { status: "pending", superseded_by: null },
    [unkeyed]: { status: "pending", superseded_by: null },
    [first]: { status: "cancelled", superseded_by: last },
    [second]: { status: "pending", superseded_by: null },
    [last]: { status: "pending", superseded_by: null },
  });
  expect(await cancelEvents([before, first])).toEqual([
    { outbox_id: before, superseded_by: last },
    { outbox_id: first, superseded_by: last },
  ]);
  // The row of this batch was created before it was superseded.
  const [kinds] = (await o.pool.query("SELECT kind FROM outbox_event WHERE outbox_id = ? ORDER BY id", [first])) as unknown as [
    { kind: number }[],
  ];
  expect(kinds.map((k) => k.kind)).toEqual([EventKind.created, EventKind.cancelled]);
  await o.pool.query("UPDATE outbox SET status = 'cancelled' WHERE id IN (?)", [[other, unkeyed, second, last]]);
});

test("a row a sender holds (SENDING) is not touched", async () => {
  const held = (await enqueue(o.pool, keyed("order-3"), NOW)).row.id;
  const claims = await claimDue(o.pool, 10, lease("supersede", NOW), [1]);
  expect(claims.map((c) => c.id)).toEqual([held]);
  const newer = (await enqueue(o.pool, keyed("order-3"), NOW)).row.id;
  expect(Object.fromEntries(await rows([held, newer]))).toEqual({
    [held]: { status: "sending", superseded_by: null },
    [newer]: { status: "pending", superseded_by: null },
  });
  await o.pool.query("UPDATE outbox SET status = 'cancelled' WHERE id IN (?)", [[held, newer]]);
});

test("two transactions committing one key at once: the newer row's waits for the older one's, then cancels it", async () => {
  const conn = await o.pool.getConnection();
  try {
    await conn.beginTransaction();
    const [older] = await insertMessages(conn, [keyed("order-4")], NOW, { consecutiveIds: true });
    // The second commit gets the later id and must wait for the first to know whether it supersedes it.
    const newer = enqueue(o.pool, keyed("order-4"), NOW);
    await waitForLockWait(o.pool);
    await conn.commit();
    const newId = (await newer).row.id;
    expect(newId).toBeGreaterThan(older!.id);
    expect(Object.fromEntries(await rows([older!.id, newId]))).toEqual({
      [older!.id]: { status: "cancelled", superseded_by: newId },
      [newId]: { status: "pending", superseded_by: null },
    });
  } finally {
    conn.release();
  }
});

test.each([1, 3])("EXPLAIN of the read of %i group(s) of superseded rows is a range of idx_outbox_collapse", async (groups) => {
  await o.pool.query("ANALYZE TABLE outbox");
  const args = Array.from({ length: groups }, (_, i) => [1, `order-${i + 1}`, Number.MAX_SAFE_INTEGER]).flat();
  const [plan] = (await o.pool.query(`EXPLAIN ${olderRowsSql(groups)}`, args)) as unknown as [Record<string, unknown>[]];
  expect(plan).toHaveLength(1);
  expect(plan[0]).toMatchObject({ table: "outbox", key: "idx_outbox_collapse", type: "range" });
});
