// Group commit on the real database: concurrent calls share one transaction, each is answered
// with its own row, and one bad row fails only its own call.
import { afterAll, beforeAll, expect, test } from "vitest";
import { createHash } from "node:crypto";
import { GroupCommit } from "../../src/outbox/group-commit.js";
import { OutboxError } from "../../src/outbox/errors.js";
import { ManualClock } from "../helpers/clock.js";
import { statementKind, statementsDuring } from "../helpers/statements.js";
import { message, openOutboxDb, type OutboxDb } from "./outbox-db.js";

const NOW = 1_767_225_600_000;
let o: OutboxDb;
let commits: GroupCommit;
let wakes = 0;

beforeAll(async () => {
  o = await openOutboxDb("group_commit");
  commits = new GroupCommit(o.pool, new ManualClock(NOW), { consecutiveIds: true, onCommit: () => wakes++ });
});
afterAll(() => o?.close());

const hash = (s: string) => createHash("sha256").update(s).digest();
const commitCount = (statements: string[]) => statements.filter((s) => statementKind(s) === "COMMIT").length;

async function eventsOf(ids: number[]): Promise<{ id: number; outbox_id: number; kind: number }[]> {
  const [rows] = await o.pool.query("SELECT id, outbox_id, kind FROM outbox_event WHERE outbox_id IN (?) ORDER BY id", [ids]);
  return rows as { id: number; outbox_id: number; kind: number }[];
}

test("50 calls made together share one transaction and get 50 distinct rows, each with its event", async () => {
  const { result, statements } = await statementsDuring(() =>
    Promise.all(Array.from({ length: 50 }, (_, i) => commits.submit(message(NOW, { subject: `m${i}` })))),
  );
  expect(commitCount(statements)).toBe(1);
  // One INSERT for all the rows, one for all the events.
  expect(statements.filter((s) => statementKind(s) === "INSERT outbox")).toHaveLength(1);
  expect(statements.filter((s) => statementKind(s) === "INSERT outbox_event")).toHaveLength(1);
  const ids = result.map((r) => r.row.id);
  expect(new Set(ids).size).toBe(50);
  const [rows] = (await o.pool.query("SELECT id, subject FROM outbox WHERE id IN (?)", [ids])) as unknown as [
    { id: number; subject: string }[],
  ];
  const subjectById = new Map(rows.map((r) => [r.id, r.subject]));
  result.forEach((r, i) => expect(subjectById.get(r.row.id)).toBe(`m${i}`));
  const events = await eventsOf(ids);
  expect(events.map((e) => e.outbox_id).sort()).toEqual([...ids].sort());
  expect(wakes).toBeGreaterThan(0);
});

test("calls that arrive while a commit is under way go into the next one, not one each", async () => {
  const first = Promise.all(Array.from({ length: 5 }, () => commits.submit(message(NOW))));
  // Made while the first transaction is open.
  const { statements } = await statementsDuring(async () => {
    await new Promise((r) => setImmediate(r));
    await Promise.all(Array.from({ length: 20 }, () => commits.submit(message(NOW))));
  });
  await first;
  expect(commitCount(statements)).toBeLessThanOrEqual(2);
});

test("a reused idempotency key fails only its own call; a replay gets the first row", async () => {
  const original = await commits.submit(message(NOW, { idempotencyKey: "k1", requestHash: hash("a") }));
  const results = await Promise.allSettled([
    commits.submit(message(NOW, { subject: "ok-1" })),
    commits.submit(message(NOW, { idempotencyKey: "k1", requestHash: hash("b") })),
    commits.submit(message(NOW, { idempotencyKey: "k1", requestHash: hash("a") })),
    commits.submit(message(NOW, { subject: "ok-2", idempotencyKey: "k2", requestHash: hash("c") })),
  ]);
  expect(results[0]).toMatchObject({ status: "fulfilled", value: { replay: false, row: { subject: "ok-1" } } });
  expect(results[1].status).toBe("rejected");
  expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(OutboxError);
  expect((results[1] as PromiseRejectedResult).reason.reason).toBe("IDEMPOTENCY_KEY_REUSED");
  expect(results[2]).toMatchObject({ status: "fulfilled", value: { replay: true, row: { id: original.row.id } } });
  expect(results[3]).toMatchObject({ status: "fulfilled", value: { replay: false, row: { subject: "ok-2" } } });
  const [rows] = (await o.pool.query("SELECT COUNT(*) AS n FROM outbox WHERE idempotency_key = 'k1'")) as unknown as [{ n: number }[]];
  expect(Number(rows[0]!.n)).toBe(1);
});

test("the same key twice in one batch makes one row; the second call is its replay", async () => {
  const [a, b] = await Promise.all([
    commits.submit(message(NOW, { idempotencyKey: "same-batch", requestHash: hash("x") })),
    commits.submit(message(NOW, { idempotencyKey: "same-batch", requestHash: hash("x") })),
  ]);
  expect(a!.replay).toBe(false);
  expect(b).toMatchObject({ replay: true, row: { id: a!.row.id } });
});

test("a row the database refuses fails alone; the others of its batch commit", async () => {
  // VARCHAR(2000): the handlers never let such a subject through, the database refuses it.
  const results = await Promise.allSettled([
    commits.submit(message(NOW, { subject: "fine-1" })),
    commits.submit(message(NOW, { subject: "x".repeat(3000) })),
    commits.submit(message(NOW, { subject: "fine-2" })),
  ]);
  expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
  const ids = results.flatMap((r) => (r.status === "fulfilled" ? [r.value.row.id] : []));
  // Tried again call by call, at once: the two commit in either order.
  const [rows] = (await o.pool.query("SELECT subject FROM outbox WHERE id IN (?)", [ids])) as unknown as [{ subject: string }[]];
  expect(rows.map((r) => r.subject).sort()).toEqual(["fine-1", "fine-2"]);
  expect((await eventsOf(ids)).length).toBe(2);
});

test("without consecutive AUTO_INCREMENT ids each row is inserted on its own, in the same transaction", async () => {
  const separate = new GroupCommit(o.pool, new ManualClock(NOW), { consecutiveIds: false, onCommit: () => undefined });
  const { result, statements } = await statementsDuring(() =>
    Promise.all(Array.from({ length: 4 }, (_, i) => separate.submit(message(NOW, { subject: `own-${i}` })))),
  );
  expect(commitCount(statements)).toBe(1);
  expect(statements.filter((s) => statementKind(s) === "INSERT outbox")).toHaveLength(4);
  const [rows] = (await o.pool.query("SELECT id, subject FROM outbox WHERE id IN (?)", [result.map((r) => r.row.id)])) as unknown as [
    { id: number; subject: string }[],
  ];
  const byId = new Map(rows.map((r) => [r.id, r.subject]));
  result.forEach((r, i) => expect(byId.get(r.row.id)).toBe(`own-${i}`));
});

test("bytes are composed while the suppression read is out; a message with a suppressed recipient keeps none", async () => {
  const composing = new GroupCommit(o.pool, new ManualClock(NOW), {
    consecutiveIds: true,
    onCommit: () => {},
    compose: (m) => Buffer.from(`bytes of ${m.subject}`),
  });
  await o.pool.query(
    "INSERT INTO suppression (account_id, address, reason, outbox_id, detail, created_at) VALUES (1, 'gone@example.com', 'hard_bounce', NULL, 'test', ?)",
    [NOW],
  );
  const [kept, partly] = await Promise.all([
    composing.submit(message(NOW, { subject: "kept" })),
    composing.submit(message(NOW, { subject: "partly", to: ["bob@example.com", "gone@example.com"] })),
  ]);
  const [rows] = (await o.pool.query("SELECT id, mime FROM outbox WHERE id IN (?) ORDER BY id", [
    [kept!.row.id, partly!.row.id],
  ])) as unknown as [{ id: number; mime: Buffer | null }[]];
  expect(rows.map((r) => r.mime?.toString() ?? null)).toEqual(["bytes of kept", null]);
});

test("a suppression read that fails refuses the batch's calls and commits none of them", async () => {
  const [[before]] = (await o.pool.query("SELECT COUNT(*) AS n FROM outbox")) as unknown as [{ n: number }[]];
  await o.pool.query("RENAME TABLE suppression TO suppression_away");
  try {
    const results = await Promise.allSettled([
      commits.submit(message(NOW, { subject: "a" })),
      commits.submit(message(NOW, { subject: "b" })),
    ]);
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected"]);
    expect(results.map((r) => (r as PromiseRejectedResult).reason.code)).toEqual(["ER_NO_SUCH_TABLE", "ER_NO_SUCH_TABLE"]);
  } finally {
    await o.pool.query("RENAME TABLE suppression_away TO suppression");
  }
  const [[after]] = (await o.pool.query("SELECT COUNT(*) AS n FROM outbox")) as unknown as [{ n: number }[]];
  expect(after!.n).toBe(before!.n);
});
