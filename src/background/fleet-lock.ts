// Maintenance once per fleet: the rescuer, the event pruner and outbox retention run on the one
// instance that holds a MySQL named lock (GET_LOCK) on a connection of its own. The server frees
// the lock when that connection ends, so when the holder dies (kill -9 closes its sockets) another
// instance takes it at its next try, within `retryMs`.
import { createHash } from "node:crypto";
import mysql from "mysql2/promise";
import type { Logger } from "../log.js";
import { parseDatabaseUrl } from "../outbox/db.js";

export class FleetLock {
  private conn?: mysql.Connection;
  private held_ = false;
  private timer?: NodeJS.Timeout;
  private trying?: Promise<void>;
  private readonly name: string;

  constructor(
    private readonly url: string,
    private readonly log: Logger,
    private readonly retryMs = 2_000,
  ) {
    // Named locks are server-wide: one per database, and lock names are at most 64 characters.
    const { database } = parseDatabaseUrl(url);
    this.name = `email_outbox_maintenance_${createHash("sha256").update(database).digest("hex").slice(0, 16)}`;
  }

  /** This instance runs the fleet's maintenance now. */
  get held(): boolean {
    return this.held_;
  }

  /** Tries once at once (a lone instance holds the lock from the start), then every retryMs. */
  async start(): Promise<void> {
    await this.tryTake();
    this.timer = setInterval(() => void this.tryTake(), this.retryMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.trying;
    const conn = this.conn;
    this.conn = undefined;
    this.held_ = false;
    await conn?.end().catch(() => conn.destroy());
  }

  private tryTake(): Promise<void> {
    this.trying ??= this.take().finally(() => (this.trying = undefined));
    return this.trying;
  }

  private async take(): Promise<void> {
    try {
      this.conn ??= await this.connect();
      const sql = this.held_ ? "SELECT IS_USED_LOCK(?) = CONNECTION_ID() AS mine" : "SELECT GET_LOCK(?, 0) AS mine";
      const [rows] = (await this.conn.query(sql, [this.name])) as unknown as [{ mine: number | null }[]];
      const mine = Number(rows[0]?.mine) === 1;
      if (mine && !this.held_) this.log.info({ lock: this.name }, "maintenance lock taken: this instance runs the fleet's maintenance");
      if (!mine && this.held_) this.log.warn({ lock: this.name }, "maintenance lock lost");
      this.held_ = mine;
    } catch (err) {
      this.lost(err);
    }
  }

  private lost(err: unknown): void {
    if (this.held_) this.log.warn({ lock: this.name, err: (err as Error).message }, "maintenance lock lost with its connection");
    this.held_ = false;
    this.conn?.destroy();
    this.conn = undefined;
  }

  private async connect(): Promise<mysql.Connection> {
    const { serverUrl, database } = parseDatabaseUrl(this.url);
    const conn = await mysql.createConnection({ uri: serverUrl, database, connectTimeout: 5_000, enableKeepAlive: true });
    conn.on("error", (err) => this.lost(err));
    return conn;
  }
}
