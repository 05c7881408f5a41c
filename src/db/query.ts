// Typed results of the driver's query(): mysql2 types every result as "rows or a write's header",
// so each statement says here which one it returns instead of casting at every call.
import type { Connection, QueryOptions, QueryResult, ResultSetHeader, RowDataPacket } from "mysql2/promise";

/** A statement: its SQL with `?` placeholders, or the driver's options (a timeout, say). */
export type Statement = string | QueryOptions;

/** Anything that runs statements: the pool, a pooled connection, or a connection of its own. */
type Db = Pick<Connection, "query">;

/** The values of its placeholders, in order. */
type Args = QueryOptions["values"];

async function run<T extends QueryResult>(db: Db, sql: Statement, args?: Args): Promise<T> {
  const [result] = typeof sql === "string" ? await db.query<T>(sql, args) : await db.query<T>(sql, args);
  return result;
}

/** The rows of a SELECT, typed as the columns it names. */
export function select<T>(db: Db, sql: Statement, args?: Args): Promise<T[]> {
  return run<(T & RowDataPacket)[]>(db, sql, args);
}

/** The first row of a SELECT, if any. */
export async function selectOne<T>(db: Db, sql: Statement, args?: Args): Promise<T | undefined> {
  return (await select<T>(db, sql, args))[0];
}

/** An INSERT, UPDATE or DELETE: what it changed (affectedRows, insertId). */
export function exec(db: Db, sql: Statement, args?: Args): Promise<ResultSetHeader> {
  return run<ResultSetHeader>(db, sql, args);
}

/** One statement of a batch: its SQL and the values of its placeholders. */
export interface SqlPart {
  sql: string;
  args: unknown[];
}

/** What joins a batch's statements: tests and the bench split on it to count statements. */
export const STATEMENT_SEPARATOR = ";\n";

/**
 * The driver's connections that may run a batch as one query (pool.ts adds them once it knows the
 * server is not a Galera node). A Galera node can roll a transaction back between two statements
 * of a query (a replicated write wins a conflict) and run the rest outside it, reporting success:
 * the COMMIT at the end would then confirm a transaction that is gone. Elsewhere a transaction is
 * only rolled back inside a statement, which fails and ends the query.
 */
export const batchingConnections = new WeakSet<object>();

/** Whether `db` runs a batch as one query (see batchingConnections). */
export function batchesInOneQuery(db: Db): boolean {
  return batchingConnections.has((db as { connection?: object }).connection ?? db);
}

/**
 * SQL written into a statement as it is, in place of a placeholder's value: an expression the
 * server computes (an id it has just handed out). Built only from our own constants and numbers.
 */
export interface SqlExpr {
  toSqlString(): string;
}

export function sqlExpr(sql: string): SqlExpr {
  return { toSqlString: () => sql };
}

/**
 * Statements run in order as one query, one round trip where the connection allows it
 * (batchingConnections), else one after another; what each changed. A failing statement ends
 * the batch: the ones after it do not run.
 */
export async function execBatch(db: Db, parts: readonly SqlPart[]): Promise<ResultSetHeader[]> {
  if (parts.length === 1 || !batchesInOneQuery(db)) {
    const results: ResultSetHeader[] = [];
    for (const p of parts) results.push(await exec(db, p.sql, p.args));
    return results;
  }
  const sql = parts.map((p) => p.sql).join(STATEMENT_SEPARATOR);
  const [results] = await db.query<ResultSetHeader[]>(
    sql,
    parts.flatMap((p) => p.args),
  );
  return results;
}
