// Substring search in SQL: the text's wildcards match themselves ('!' escapes them) and the
// comparison ignores case (the columns are binary). Shared by ListOutbox and ListMessages.

export interface Condition {
  sql: string;
  args: unknown[];
}

/** Any of `columns` contains `text`. */
export function containsAny(columns: readonly string[], text: string): Condition {
  const pattern = `%${text.replace(/[!%_]/g, "!$&")}%`;
  return {
    sql: `(${columns.map((c) => `${c} COLLATE utf8mb4_unicode_ci LIKE ? ESCAPE '!'`).join(" OR ")})`,
    args: columns.map(() => pattern),
  };
}

// Recipients are JSON arrays of the addresses as given; CAST reads them as text on MariaDB and MySQL.
const OUTBOX_COLUMNS = ["CAST(to_json AS CHAR)", "CAST(cc_json AS CHAR)", "CAST(bcc_json AS CHAR)", "subject", "message_id"];

/** ListOutbox's query: recipients, subject or Message-ID contain it; a number is also an outbox id. */
export function outboxSearch(query: string): Condition {
  const text = containsAny(OUTBOX_COLUMNS, query);
  const id = /^#?(\d{1,19})$/.exec(query.trim())?.[1];
  return id === undefined ? text : { sql: `(id = ? OR ${text.sql})`, args: [id, ...text.args] };
}
