// One instance per fleet for a role: the rescuer, the event pruner and outbox retention run on the
// one instance that holds a MySQL named lock (GET_LOCK) on a connection of its own, and so does each
// account's IMAP ingest (a lock per account). The server frees the lock when that connection ends,
// so when the holder dies (kill -9 closes its sockets) another instance takes it at its next try,
// within `retryMs`.
import { createHash } from "node:crypto";
import mysql from "mysql2/promise";
import type { Logger } from "../log.js";
import { parseDatabaseUrl } from "../outbox/db.js";
import { select } from "../outbox/query.js";

export interface FleetLockRole {
  /** Part of the lock name, unique per role: "maintenance", "imap_7". */
  key: string;
  /** For log lines: what the holder does. */
  what: string;
  /** Told each time this instance takes or loses the lock. */
  onChange?: (held: boolean) => void;
}

const MAINTENANCE: FleetLockRole = { key: "maintenance", what: "the fleet's maintenance" };

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
    private readonly role: FleetLockRole = MAINTENANCE,
  ) {
    // Named locks are server-wide: one per database, and lock names are at most 64 characters.
    const { database } = parseDatabaseUrl(url);
    this.name = `email_outbox_${role.key}_${createHash("sha256").update(database).digest("hex").slice(0, 16)}`;
  }

  /** This instance holds the role now. */
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
    this.set(false);
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
      const rows = await select<{ mine: number | null }>(this.conn, sql, [this.name]);
      const mine = Number(rows[0]?.mine) === 1;
      if (mine && !this.held_) this.log.info({ lock: this.name }, `${this.role.key} lock taken: this instance runs ${this.role.what}`);
      if (!mine && this.held_) this.log.warn({ lock: this.name }, `${this.role.key} lock lost`);
      this.set(mine);
    } catch (err) {
      this.lost(err);
    }
  }

  private lost(err: unknown): void {
    if (this.held_) this.log.warn({ lock: this.name, err: (err as Error).message }, `${this.role.key} lock lost with its connection`);
    this.set(false);
    this.conn?.destroy();
    this.conn = undefined;
  }

  private set(held: boolean): void {
    const changed = held !== this.held_;
    this.held_ = held;
    if (changed) this.role.onChange?.(held);
  }

  private async connect(): Promise<mysql.Connection> {
    const { serverUrl, database } = parseDatabaseUrl(this.url);
    const conn = await mysql.createConnection({ uri: serverUrl, database, connectTimeout: 5_000, enableKeepAlive: true });
    conn.on("error", (err) => this.lost(err));
    return conn;
  }
}
