// Direct reads of a test database, for asserting what a request did (or did not) write.
import mysql from "mysql2/promise";

/** Rows in outbox and outbox_event. */
export async function countRows(databaseUrl: string): Promise<{ outbox: number; events: number }> {
  const conn = await mysql.createConnection({ uri: databaseUrl });
  try {
    const [rows] = (await conn.query(
      "SELECT (SELECT COUNT(*) FROM outbox) AS outbox, (SELECT COUNT(*) FROM outbox_event) AS events",
    )) as unknown as [{ outbox: number; events: number }[]];
    return { outbox: Number(rows[0]!.outbox), events: Number(rows[0]!.events) };
  } finally {
    await conn.end();
  }
}
