// Loaded into the service (node --import) when profiling: counts the SQL statements it runs, by
// verb and table, through mysql2's diagnostics channel, and writes the counts to the file named
// by BENCH_QUERY_COUNTS when the process exits.
import { tracingChannel } from "node:diagnostics_channel";
import { writeFileSync } from "node:fs";

const counts: Record<string, number> = {};

/** "UPDATE outbox", "SELECT outbox_event", "COMMIT": what a statement does, without its values. */
function statementKind(sql: string): string {
  const verb = /^\s*(\w+)/.exec(sql)?.[1]?.toUpperCase() ?? "?";
  const table =
    verb === "SELECT" ? /\bFROM\s+`?(\w+)/i.exec(sql)?.[1] :
    verb === "INSERT" ? /\bINTO\s+`?(\w+)/i.exec(sql)?.[1] :
    verb === "UPDATE" ? /^\s*UPDATE\s+`?(\w+)/i.exec(sql)?.[1] :
    verb === "DELETE" ? /\bFROM\s+`?(\w+)/i.exec(sql)?.[1] : undefined;
  return table ? `${verb} ${table}` : verb;
}

for (const name of ["mysql2:query", "mysql2:execute"]) {
  tracingChannel<object, { query: string }>(name).subscribe({
    start(ctx) {
      const kind = statementKind(ctx.query);
      counts[kind] = (counts[kind] ?? 0) + 1;
    },
    end() {},
    asyncStart() {},
    asyncEnd() {},
    error() {},
  });
}

process.on("exit", () => {
  const file = process.env.BENCH_QUERY_COUNTS;
  if (file) writeFileSync(file, JSON.stringify(counts));
});
