// Fleet leases on the real database: one holder per role among instances, takeover after the
// holder stops or stops renewing (dies), fencing that refuses a holder whose lease moved on, and
// concurrent migrations that take turns under the migrate lease.
import { afterAll, beforeAll, expect, test } from "vitest";
import { FleetLock } from "../../src/db/fleet-lock.js";
import { createPool, ensureDatabase, inTransaction } from "../../src/db/pool.js";
import { fenceLease, LeaseLostError, listLeases, takeOrRenewLease } from "../../src/db/fleet-lease.js";
import { migrate, readMigrations } from "../../src/db/migrate.js";
import { createLogger } from "../../src/lib/log.js";
import { createTestDatabase } from "../helpers/db.js";
import { openOutboxDb, type OutboxDb } from "./outbox-db.js";

const log = createLogger("silent");
let o: OutboxDb;
beforeAll(async () => {
  o = await openOutboxDb("fleet_lease");
});
afterAll(() => o.close());

async function until(check: () => boolean | Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

test("one of several instances holds a role; when it stops, another takes over", async () => {
  const role = { key: "role_a", what: "a test role" };
  const locks = [0, 1, 2].map(() => new FleetLock(o.openPool(2), log, 100, role));
  await Promise.all(locks.map((l) => l.start()));
  await until(() => locks.filter((l) => l.held).length === 1, "one holder");
  const first = locks.find((l) => l.held)!;
  const token = first.lease!.token;
  await first.stop();
  await until(() => locks.filter((l) => l !== first && l.held).length === 1, "a new holder");
  const next = locks.find((l) => l.held)!;
  expect(next.lease!.token).toBeGreaterThan(token);
  const rows = await listLeases(o.pool);
  expect(rows.find((r) => r.name === "role_a")).toMatchObject({ owner: next.lease!.owner, live: true });
  await Promise.all(locks.map((l) => l.stop()));
});

test("a holder that stops renewing (dead) loses the lease at its expiry, and its fenced writes are refused", async () => {
  // The dead holder: took the lease for 300 ms and never renews it.
  const dead = await takeOrRenewLease(o.pool, "role_b", "dead-instance", 300);
  expect(dead).toBeDefined();
  await expect(inTransaction(o.pool, (conn) => fenceLease(conn, dead!))).resolves.toBeUndefined();
  const live = new FleetLock(o.openPool(2), log, 50, { key: "role_b", what: "a test role" });
  await live.start();
  expect(live.held).toBe(false);
  await until(() => live.held, "the takeover after the expiry");
  expect(live.lease!.token).toBe(dead!.token + 1);
  // The paused holder wakes up: its renewal and its fenced work are refused.
  expect(await takeOrRenewLease(o.pool, "role_b", "dead-instance", 300, dead)).toBeUndefined();
  await expect(inTransaction(o.pool, (conn) => fenceLease(conn, dead!))).rejects.toBeInstanceOf(LeaseLostError);
  await live.stop();
});

test("a holder that cannot renew stops holding at its own deadline, before the lease can move on", async () => {
  const pool = createPool(o.db.url, 2); // ended by the test itself
  const lock = new FleetLock(pool, log, 50, { key: "role_c", what: "a test role" });
  await lock.start();
  expect(lock.held).toBe(true);
  await pool.end(); // every renewal fails from now on
  await until(() => !lock.held, "the holder to give up");
  await lock.stop();
});

test("instances migrating one fresh database at once take turns: each migration applied once", async () => {
  const db = await createTestDatabase("fleet_lease_migrate");
  await ensureDatabase(db.url);
  const pools = [0, 1, 2].map(() => createPool(db.url, 3));
  try {
    const applied = await Promise.all(pools.map((p) => migrate(p)));
    const all = applied.flat();
    expect(all.sort()).toEqual((await readMigrations()).map((m) => m.name).sort());
    const [rows] = (await pools[0]!.query("SELECT COUNT(*) AS n FROM schema_migrations")) as unknown as [{ n: number }[]];
    expect(Number(rows[0]!.n)).toBe(all.length);
    expect((await listLeases(pools[0]!)).find((l) => l.name === "migrate")?.live).toBe(false);
  } finally {
    await Promise.all(pools.map((p) => p.end()));
    await db.drop();
  }
});
