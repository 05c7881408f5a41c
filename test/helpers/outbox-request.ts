// The application's side of outbox_request in tests: a MariaDB user with exactly the grant the
// docs give an application (INSERT and SELECT on that one table), and reading the service's answers.
import { randomBytes } from "node:crypto";
import mysql from "mysql2/promise";
import { vi } from "vitest";
import { SERVER_URL, type TestDatabase } from "./db.js";

export interface AppUser {
  user: string;
  /** mysql://user:password@host:port/database */
  url: string;
  drop(): Promise<void>;
}

/** CREATE USER … ; GRANT INSERT, SELECT ON db.outbox_request: what docs/outbox-request.md shows. */
export async function createAppUser(db: TestDatabase): Promise<AppUser> {
  const user = `eo_app_${randomBytes(4).toString("hex")}`;
  const password = randomBytes(12).toString("hex");
  const root = await mysql.createConnection({ uri: SERVER_URL });
  try {
    await root.query("CREATE USER ?@'%' IDENTIFIED BY ?", [user, password]);
    await root.query(`GRANT INSERT, SELECT ON \`${db.name}\`.outbox_request TO ?@'%'`, [user]);
  } finally {
    await root.end();
  }
  const url = new URL(SERVER_URL);
  url.username = user;
  url.password = password;
  url.pathname = `/${db.name}`;
  return {
    user,
    url: url.toString(),
    async drop() {
      const conn = await mysql.createConnection({ uri: SERVER_URL });
      try {
        await conn.query("DROP USER IF EXISTS ?@'%'", [user]);
      } finally {
        await conn.end();
      }
    },
  };
}

export interface RequestRow {
  id: number;
  account_id: number;
  outbox_id: number | null;
  error_reason: string | null;
  error_message: string | null;
  processed: number;
}

/** The service's answers, read as the application reads them. */
export class RequestReader {
  constructor(private readonly db: mysql.Pool | mysql.Connection) {}

  async rows(ids?: number[]): Promise<RequestRow[]> {
    const where = ids ? "WHERE id IN (?)" : "";
    const [rows] = await this.db.query(
      `SELECT id, account_id, outbox_id, error_reason, error_message, processed_at IS NOT NULL AS processed FROM outbox_request ${where} ORDER BY id`,
      ids ? [ids] : [],
    );
    return (rows as RequestRow[]).map((r) => ({
      ...r,
      id: Number(r.id),
      outbox_id: r.outbox_id === null ? null : Number(r.outbox_id),
      processed: Number(r.processed),
    }));
  }

  /** Waits until every request of `ids` is answered; returns their rows in id order. */
  async answered(ids: number[], timeoutMs = 20_000): Promise<RequestRow[]> {
    return vi.waitFor(
      async () => {
        const rows = await this.rows(ids);
        const pending = ids.filter((id) => !rows.some((r) => r.id === id && r.processed));
        if (pending.length > 0)
          throw new Error(`requests not answered yet: ${pending.slice(0, 10).join(", ")}${pending.length > 10 ? ", …" : ""}`);
        return rows;
      },
      { timeout: timeoutMs, interval: 20 },
    );
  }
}
