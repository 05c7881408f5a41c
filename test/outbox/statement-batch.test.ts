// A batch of statements is one query on the wire, run in order, where the server is not a Galera
// node (this one is not: the pool found @@wsrep_on off); a failing statement ends it; and with
// several statements allowed per query, a value still cannot add one of its own.
import { tracingChannel } from "node:diagnostics_channel";
import { afterAll, beforeAll, expect, test } from "vitest";
import { createPool, ensureDatabase, type Pool } from "../../src/db/pool.js";
import { batchingConnections, execBatch, select } from "../../src/db/query.js";
import { createTestDatabase, type TestDatabase } from "../helpers/db.js";

let db: TestDatabase;
let pool: Pool;

beforeAll(async () => {
  db = await createTestDatabase("statement_batch");
  await ensureDatabase(db.url);
  pool = createPool(db.url, 2);
  await pool.query("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(100))");
});

afterAll(async () => {
  await pool.end();
  await db.drop();
});

/** The queries sent to the server while `fn` runs (a batch counts once). */
async function queriesDuring(fn: () => Promise<unknown>): Promise<number> {
  let n = 0;
  const handlers = { start: () => n++, end() {}, asyncStart() {}, asyncEnd() {}, error() {} };
  const channel = tracingChannel("mysql2:query");
  channel.subscribe(handlers);
  try {
    await fn();
  } finally {
    channel.unsubscribe(handlers);
  }
  return n;
}

test("a batch runs its statements in order, in one query, and tells what each changed", async () => {
  const conn = await pool.getConnection();
  try {
    let results: Awaited<ReturnType<typeof execBatch>> = [];
    const queries = await queriesDuring(async () => {
      results = await execBatch(conn, [
        {
          sql: "INSERT INTO t (id, v) VALUES ?",
          args: [
            [
              [1, "a"],
              [2, "b"],
            ],
          ],
        },
        { sql: "UPDATE t SET v = CONCAT(v, ?) WHERE id >= ?", args: ["!", 1] },
        { sql: "DELETE FROM t WHERE id = ?", args: [2] },
      ]);
    });
    expect(queries).toBe(1);
    expect(results.map((r) => r.affectedRows)).toEqual([2, 2, 1]);
    expect(await select(conn, "SELECT id, v FROM t ORDER BY id")).toEqual([{ id: 1, v: "a!" }]);
  } finally {
    conn.release();
  }
});

test("a failing statement ends the batch: the statements after it do not run", async () => {
  const conn = await pool.getConnection();
  try {
    const batch = execBatch(conn, [
      { sql: "INSERT INTO t (id, v) VALUES (?, ?)", args: [10, "first"] },
      { sql: "INSERT INTO t (id, v) VALUES (?, ?)", args: [10, "duplicate"] },
      { sql: "INSERT INTO t (id, v) VALUES (?, ?)", args: [11, "after"] },
    ]);
    await expect(batch).rejects.toMatchObject({ code: "ER_DUP_ENTRY" });
    expect(await select(conn, "SELECT id, v FROM t WHERE id >= 10 ORDER BY id")).toEqual([{ id: 10, v: "first" }]);
  } finally {
    conn.release();
  }
});

test("a value that reads as SQL is stored as text, in a batch and alone", async () => {
  const hostile = "x'); DROP TABLE t; -- \\'; DELETE FROM t;";
  const conn = await pool.getConnection();
  try {
    await execBatch(conn, [
      { sql: "INSERT INTO t (id, v) VALUES (?, ?)", args: [20, hostile] },
      { sql: "UPDATE t SET v = ? WHERE id = ?", args: [hostile, 1] },
    ]);
    await execBatch(conn, [{ sql: "INSERT INTO t (id, v) VALUES (?, ?)", args: [21, hostile] }]);
    expect(await select(conn, "SELECT id, v FROM t WHERE v = ? ORDER BY id", [hostile])).toEqual([
      { id: 1, v: hostile },
      { id: 20, v: hostile },
      { id: 21, v: hostile },
    ]);
  } finally {
    conn.release();
  }
});

test("on a connection not known to allow batches (a Galera node's) the statements go one by one", async () => {
  const conn = await pool.getConnection();
  try {
    batchingConnections.delete(conn.connection);
    let results: Awaited<ReturnType<typeof execBatch>> = [];
    const queries = await queriesDuring(async () => {
      results = await execBatch(conn, [
        { sql: "INSERT INTO t (id, v) VALUES (?, ?)", args: [30, "one"] },
        { sql: "UPDATE t SET v = ? WHERE id = ?", args: ["two", 30] },
      ]);
    });
    expect(queries).toBe(2);
    expect(results.map((r) => r.affectedRows)).toEqual([1, 1]);
  } finally {
    conn.destroy();
  }
});
