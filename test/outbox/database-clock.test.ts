// The database clock in a zone with daylight saving time: in the hour that happens twice when it
// ends, NOW() names two instants, so a clock read through the session's zone can be an hour off
// (leases look expired, in-flight mail is sent twice). The clock reads the epoch itself.
import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, expect, test } from "vitest";
import mysql from "mysql2/promise";
import { DATABASE_NOW_SQL, DatabaseClock } from "../../src/db/clock.js";
import { SERVER_URL } from "../helpers/db.js";
import { openOutboxDb, type OutboxDb } from "./outbox-db.js";

/** 2026-10-25 00:30 and 01:30 UTC: both are 02:30 in Berlin, once in CEST and once in CET. */
const REPEATED = [1_792_888_200, 1_792_891_800];
let o: OutboxDb;

beforeAll(async () => {
  o = await openOutboxDb("database_clock");
  // The server's time zone tables may be empty: load the one zone this test needs.
  const root = await mysql.createConnection({ uri: SERVER_URL, multipleStatements: true });
  try {
    const [rows] = (await root.query("SELECT COUNT(*) AS n FROM mysql.time_zone_name WHERE Name = 'Europe/Berlin'")) as unknown as [
      { n: number }[],
    ];
    if (Number(rows[0]!.n) === 0) {
      await root.query("USE mysql");
      await root.query(execFileSync("mariadb-tzinfo-to-sql", ["/usr/share/zoneinfo/Europe/Berlin", "Europe/Berlin"], { encoding: "utf8" }));
    }
  } finally {
    await root.end();
  }
});
afterAll(() => o?.close());

test("in the repeated hour the clock's reading is the instant itself; one through NOW() is not", async () => {
  const conn = await o.pool.getConnection();
  try {
    // A server whose zone has DST, as the session's zone.
    await conn.query("SET SESSION time_zone = 'Europe/Berlin'");
    const viaNow: number[] = [];
    for (const t of REPEATED) {
      await conn.query("SET timestamp = ?", [t]);
      const [rows] = (await conn.query(DATABASE_NOW_SQL)) as unknown as [{ ms: number }[]];
      expect(Number(rows[0]!.ms)).toBe(t * 1000);
      const [old] = (await conn.query("SELECT CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS SIGNED) AS ms")) as unknown as [{ ms: number }[]];
      viaNow.push(Number(old[0]!.ms));
    }
    // The control: going through the zone, the two instants an hour apart read the same.
    expect(viaNow[0]).toBe(viaNow[1]);
  } finally {
    await conn.query("SET timestamp = DEFAULT, time_zone = '+00:00'");
    conn.release();
  }
});

test("pool sessions run in UTC, and the clock follows the database", async () => {
  const [rows] = (await o.pool.query("SELECT @@session.time_zone AS tz")) as unknown as [{ tz: string }[]];
  expect(rows[0]!.tz).toBe("+00:00");
  const clock = new DatabaseClock(o.pool);
  await clock.sync();
  expect(Math.abs(clock.now() - Date.now())).toBeLessThan(60_000);
});
