// What the migrations say about the schema as it ends up: a later migration may redefine a
// column, so tests that check a definition read the last migration that gives it.
import { readdirSync, readFileSync } from "node:fs";

const DIR = new URL("../../migrations/", import.meta.url);

/** The text of the last migration that defines the generated column `column` ("due_at BIGINT AS (…"). */
export function lastDefinitionOf(column: string): { file: string; sql: string } {
  const files = readdirSync(DIR)
    .filter((f) => /^\d{4}_.*\.sql$/.test(f))
    .sort();
  const defining = files
    .map((file) => ({ file, sql: readFileSync(new URL(file, DIR), "utf8") }))
    .filter((m) => m.sql.includes(`${column} BIGINT AS (`));
  const last = defining[defining.length - 1];
  if (!last) throw new Error(`no migration defines ${column}`);
  return last;
}
