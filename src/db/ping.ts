// A database round trip on a connection of its own, for health: a pool busy with sends must not
// make a reachable database look down, and a lost database must not wait behind queued queries.
import mysql from "mysql2/promise";
import { parseDatabaseUrl } from "./pool.js";

export class DatabasePing {
  private conn?: mysql.Connection;

  constructor(
    private readonly url: string,
    private readonly timeoutMs: number,
  ) {}

  /** Resolves when the database answered SELECT 1 within the timeout; rejects otherwise. */
  async ping(): Promise<void> {
    try {
      this.conn ??= await this.connect();
      await this.conn.query({ sql: "SELECT 1", timeout: this.timeoutMs });
    } catch (err) {
      this.close();
      throw err;
    }
  }

  close(): void {
    this.conn?.destroy();
    this.conn = undefined;
  }

  private async connect(): Promise<mysql.Connection> {
    const { serverUrl, database } = parseDatabaseUrl(this.url);
    const conn = await mysql.createConnection({ uri: serverUrl, database, connectTimeout: this.timeoutMs });
    // A connection that breaks while idle reports it here; the next ping reconnects.
    conn.on("error", () => undefined);
    return conn;
  }
}
