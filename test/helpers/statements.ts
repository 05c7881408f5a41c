// Records the SQL statements this process runs, through mysql2's diagnostics channel: what a
// test counts to prove that work was batched, and what the benchmark's profile counts per message.
import { tracingChannel } from "node:diagnostics_channel";
import { STATEMENT_SEPARATOR } from "../../src/db/query.js";

/** "UPDATE outbox", "SELECT outbox_event", "COMMIT": what a statement does, without its values. */
export function statementKind(sql: string): string {
  const verb = /^\s*(\w+)/.exec(sql)?.[1]?.toUpperCase() ?? "?";
  const table =
    verb === "SELECT"
      ? /\bFROM\s+`?(\w+)/i.exec(sql)?.[1]
      : verb === "INSERT"
        ? /\bINTO\s+`?(\w+)/i.exec(sql)?.[1]
        : verb === "UPDATE"
          ? /^\s*UPDATE\s+`?(\w+)/i.exec(sql)?.[1]
          : verb === "DELETE"
            ? /\bFROM\s+`?(\w+)/i.exec(sql)?.[1]
            : undefined;
  return table ? `${verb} ${table}` : verb;
}

/** Calls `onQuery` with the SQL of every query started until the returned stop(): a batch whole, one round trip. */
export function onQueries(onQuery: (sql: string) => void): () => void {
  const handlers = {
    start(ctx: { query: string }) {
      onQuery(ctx.query);
    },
    end() {},
    asyncStart() {},
    asyncEnd() {},
    error() {},
  };
  const channels = ["mysql2:query", "mysql2:execute"].map((name) => tracingChannel<object, { query: string }>(name));
  for (const c of channels) c.subscribe(handlers);
  return () => {
    for (const c of channels) c.unsubscribe(handlers);
  };
}

/** Calls `onStatement` with the SQL of every statement started until the returned stop() (each statement of a batch on its own). */
export function onStatements(onStatement: (sql: string) => void): () => void {
  return onQueries((query) => {
    for (const sql of query.split(STATEMENT_SEPARATOR)) onStatement(sql);
  });
}

/** The statements run while `fn` runs, in order. */
export async function statementsDuring<T>(fn: () => Promise<T>): Promise<{ result: T; statements: string[] }> {
  const statements: string[] = [];
  const stop = onStatements((sql) => statements.push(sql));
  try {
    return { result: await fn(), statements };
  } finally {
    stop();
  }
}
