// A fingerprint of every data table of a test database (outbox, events, attachments, mailbox, …):
// two equal fingerprints mean no request wrote anything in between.
import mysql from "mysql2/promise";

export interface Fingerprinter {
  take(): Promise<Record<string, string>>;
  close(): Promise<void>;
}

export async function fingerprinter(databaseUrl: string): Promise<Fingerprinter> {
  const conn = await mysql.createConnection({ uri: databaseUrl });
  const [tables] = (await conn.query("SHOW TABLES")) as unknown as [Record<string, string>[]];
  const names = tables.map((row) => Object.values(row)[0]!).filter((name) => name !== "schema_migrations");
  return {
    async take() {
      // CHECKSUM TABLE reads every row (InnoDB has no live checksum), so any change shows.
      const [rows] = (await conn.query(`CHECKSUM TABLE ${names.map((n) => `\`${n}\``).join(", ")}`)) as unknown as [
        { Table: string; Checksum: number | string | null }[],
      ];
      return Object.fromEntries(rows.map((r) => [r.Table.split(".").pop()!, String(r.Checksum)]));
    },
    close: () => conn.end(),
  };
}
