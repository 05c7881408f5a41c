// ListOutbox's `query`: checked here, turned into the SQL condition by outbox/search.ts.
import { outboxSearch } from "../../outbox/search.js";
import { invalidArgument } from "./errors.js";

/** Searches (ListOutbox's and ListMessages') are substring scans; a bound keeps one request cheap. */
export const MAX_QUERY_CHARS = 200;

/** Extra WHERE conditions and their arguments for listOutbox; none for an empty query. */
export function outboxQuery(query: string): [where: string[], args: unknown[]] {
  if (query.length > MAX_QUERY_CHARS) {
    throw invalidArgument([
      { field: "query", reason: "QUERY_TOO_LONG", description: `query must be at most ${MAX_QUERY_CHARS} characters` },
    ]);
  }
  if (query === "") return [[], []];
  const { sql, args } = outboxSearch(query);
  return [[sql], args];
}
