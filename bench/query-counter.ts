// Loaded into the service (node --import) when profiling: counts the SQL statements it runs, by
// verb and table, and writes the counts to the file named by BENCH_QUERY_COUNTS when the process
// exits.
import { writeFileSync } from "node:fs";
import { onStatements, statementKind } from "../test/helpers/statements.js";

const counts: Record<string, number> = {};

onStatements((sql) => {
  const kind = statementKind(sql);
  counts[kind] = (counts[kind] ?? 0) + 1;
});

process.on("exit", () => {
  const file = process.env.BENCH_QUERY_COUNTS;
  if (file) writeFileSync(file, JSON.stringify(counts));
});
