// The MySQL connection pool, and creating the database when it does not exist yet.
import mysql from "mysql2/promise";
import type { Pool, PoolConnection, ResultSetHeader } from "mysql2/promise";
import { batchingConnections, execBatch, select, type SqlPart } from "./query.js";

export type { Pool, PoolConnection };

/** Anything queries can run on: the pool, or one connection inside a transaction. */
export type Queryable = Pool | PoolConnection;

export interface DbTarget {
  /** The URL without the database name, for CREATE DATABASE. */
  serverUrl: string;
  database: string;
}

/** Splits mysql://user:pass@host:port/db into the server and the database name. */
export function parseDatabaseUrl(url: string): DbTarget {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error("DATABASE_URL is not a valid URL");
  }
  if (parsed.protocol !== "mysql:" && parsed.protocol !== "mariadb:") throw new Error("DATABASE_URL must start with mysql://");
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ""));
  if (!/^[A-Za-z0-9_$-]{1,64}$/.test(database)) throw new Error("DATABASE_URL must name a database (letters, digits, _ $ -)");
  parsed.protocol = "mysql:";
  parsed.pathname = "/";
  return { serverUrl: parsed.toString(), database };
}

/** CREATE DATABASE IF NOT EXISTS, on a short-lived connection. */
export async function ensureDatabase(url: string): Promise<void> {
  const { serverUrl, database } = parseDatabaseUrl(url);
  const conn = await mysql.createConnection({ uri: serverUrl });
  try {
    await conn.query(`CREATE DATABASE IF NOT EXISTS \`${database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  } finally {
    await conn.end();
  }
}

export function createPool(url: string, connectionLimit = 10): Pool {
  const { serverUrl, database } = parseDatabaseUrl(url);
  const pool = mysql.createPool({
    uri: serverUrl,
    database,
    connectionLimit,
    // Timestamps are BIGINT milliseconds and ids stay below 2^53: plain numbers are exact.
    supportBigNumbers: true,
    bigNumberStrings: false,
    charset: "utf8mb4_bin",
    connectTimeout: 5_000,
    enableKeepAlive: true,
    // No stack capture per query: errors are logged by message, and the capture cost more CPU
    // than the rest of the driver's work on a short statement.
    trace: false,
    // A transaction's statements go as one query where they need no answer in between (execBatch):
    // one round trip instead of one each. Every value reaches SQL through a placeholder, escaped
    // by the driver, so no input can add a statement.
    multipleStatements: true,
  });
  // READ COMMITTED for every transaction: claims under REPEATABLE READ take gap locks that made
  // several instances deadlock. Set once per connection rather than before each transaction.
  pool.pool.on("connection", (conn) => {
    conn.query("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED");
    // UTC, whatever the server's zone: no date function here sees an hour that happens twice.
    conn.query("SET SESSION time_zone = '+00:00'");
    // Batches as one query only off Galera (query.ts says why); answered before the connection's
    // first transaction starts, as the commands run in order. A server without the variable
    // (MySQL) runs batches statement by statement.
    conn.query("SELECT @@wsrep_on AS wsrep", (err: unknown, rows: unknown) => {
      const on = (rows as { wsrep?: unknown }[] | undefined)?.[0]?.wsrep;
      if (!err && (on === 0 || on === "0" || on === "OFF")) batchingConnections.add(conn);
    });
  });
  return pool;
}

const ER_LOCK_DEADLOCK = 1213;

/**
 * Runs fn in a transaction on one pooled connection; rolls back on any error. A deadlock rolls
 * the whole transaction back, so it is simply run again (fn must only touch the database).
 * READ COMMITTED: every write here locks the rows it names (by id, or skipping locked ones), and
 * REPEATABLE READ's gap locks would make concurrent claims, enqueues and finalizes on several
 * instances block and deadlock on each other's index ranges.
 */
export function inTransaction<T>(pool: Pool, fn: (conn: PoolConnection) => Promise<T>): Promise<T> {
  return inTransactionEndingWith(pool, async (conn) => {
    const result = await fn(conn);
    return { ending: [], result: () => result };
  });
}

/**
 * inTransaction, where `fn` returns the statements that end the transaction (they go with the
 * COMMIT in one round trip) and what the transaction returns, given what they changed.
 */
export async function inTransactionEndingWith<T>(
  pool: Pool,
  fn: (conn: PoolConnection) => Promise<{ ending: SqlPart[]; result: (ended: ResultSetHeader[]) => T }>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const conn = await pool.getConnection();
    try {
      await conn.beginTransaction();
      const { result, ending } = await fn(conn);
      return result(await execBatch(conn, [...ending, { sql: "COMMIT", args: [] }]));
    } catch (err) {
      await conn.rollback().catch(() => undefined);
      if ((err as { errno?: number }).errno !== ER_LOCK_DEADLOCK || attempt >= 5) throw err;
    } finally {
      conn.release();
    }
  }
}

/**
 * Whether a multi-row INSERT gets consecutive AUTO_INCREMENT ids: with the "traditional" (0) and
 * "consecutive" (1) lock modes, InnoDB reserves a statement's ids at once; "interleaved" (2, the
 * MySQL 8 default, and what Galera requires) does not promise it, and neither does a step other
 * than 1 (Galera sets auto_increment_increment to the cluster's size).
 */
export async function consecutiveAutoIncrement(pool: Pool): Promise<boolean> {
  const rows = await select<{ mode: number; step: number }>(
    pool,
    "SELECT @@innodb_autoinc_lock_mode AS mode, @@auto_increment_increment AS step",
  );
  return Number(rows[0]?.mode) < 2 && Number(rows[0]?.step) === 1;
}
