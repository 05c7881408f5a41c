// Time for every decision the outbox makes (due, backoff, leases). Instances follow the database
// clock, so skew between their hosts cannot expire a lease early or make a row due late.
import type { Pool } from "./pool.js";
import { select } from "./query.js";

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/**
 * The database's time in ms since the epoch. @@timestamp is seconds since the epoch as such;
 * UNIX_TIMESTAMP(NOW()) would go through the session's time zone, where the hour repeated when
 * daylight saving time ends maps to two instants and can move the clock by an hour.
 */
export const DATABASE_NOW_SQL = "SELECT CAST(@@timestamp * 1000 AS SIGNED) AS ms";

/** The local clock plus the offset to the database's, measured at start and then every minute. */
export class DatabaseClock implements Clock {
  private offsetMs = 0;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly pool: Pool,
    private readonly resyncMs = 60_000,
  ) {}

  now(): number {
    return Date.now() + this.offsetMs;
  }

  async start(): Promise<void> {
    await this.sync();
    this.timer = setInterval(() => void this.sync().catch(() => undefined), this.resyncMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Offset = database time - local midpoint of the round trip. */
  async sync(): Promise<void> {
    const before = Date.now();
    const rows = await select<{ ms: number }>(this.pool, DATABASE_NOW_SQL);
    const after = Date.now();
    this.offsetMs = Number(rows[0]!.ms) - Math.round((before + after) / 2);
  }
}
