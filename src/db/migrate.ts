// Numbered, append-only migrations with a ledger. Several instances may start at once: the
// `migrate` fleet lease makes them take turns, and each applies only what the ledger lacks.
import { randomBytes } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { hostname } from "node:os";
import path from "node:path";
import { inTransaction, type Pool } from "./pool.js";
import { select, selectOne } from "./query.js";
import { CREATE_FLEET_LEASE, fenceLease, releaseLease, takeOrRenewLease, type Lease } from "../db/fleet-lease.js";
import { packageRoot } from "../lib/package-root.js";

/** The migrate lease outlives a stalled migrator by this much; the holder renews it 4 times as often. */
const LEASE_TTL_MS = 60_000;
/** How long an instance waits for another one's migrations. */
const WAIT_MS = 120_000;

export const MIGRATIONS_DIR = path.join(packageRoot(), "migrations");

interface Migration {
  version: number;
  name: string;
  sql: string;
}

export async function readMigrations(dir = MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f)).sort();
  return Promise.all(
    files.map(async (file) => ({
      version: Number(file.slice(0, 4)),
      name: file.replace(/\.sql$/, ""),
      sql: await readFile(path.join(dir, file), "utf8"),
    })),
  );
}

/** Applies pending migrations; returns the names applied by this call. */
export async function migrate(pool: Pool, dir = MIGRATIONS_DIR): Promise<string[]> {
  const migrations = await readMigrations(dir);
  await pool.query(CREATE_FLEET_LEASE);
  const lease = await waitForLease(pool, `migrate:${hostname()}:${process.pid}:${randomBytes(4).toString("hex")}`);
  const renewal = setInterval(
    () => void takeOrRenewLease(pool, lease.name, lease.owner, LEASE_TTL_MS, lease).catch(() => undefined),
    LEASE_TTL_MS / 4,
  );
  try {
    await pool.query(
      `CREATE TABLE IF NOT EXISTS schema_migrations (
         version INT UNSIGNED NOT NULL PRIMARY KEY,
         name VARCHAR(200) NOT NULL,
         applied_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
       ) ENGINE = InnoDB`,
    );
    const rows = await select<{ version: number }>(pool, "SELECT version FROM schema_migrations");
    const done = new Set(rows.map((r) => r.version));
    const applied: string[] = [];
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      // DDL commits implicitly, so each file holds one statement and the ledger row follows it,
      // written only while the lease is still this instance's.
      await pool.query(m.sql);
      await inTransaction(pool, async (conn) => {
        await fenceLease(conn, lease);
        await conn.query("INSERT INTO schema_migrations (version, name) VALUES (?, ?)", [m.version, m.name]);
      });
      applied.push(m.name);
    }
    return applied;
  } finally {
    clearInterval(renewal);
    await releaseLease(pool, lease).catch(() => undefined);
  }
}

async function waitForLease(pool: Pool, owner: string): Promise<Lease> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const lease = await takeOrRenewLease(pool, "migrate", owner, LEASE_TTL_MS);
    if (lease) return lease;
    if (Date.now() > deadline) throw new Error("timed out waiting for another instance's migrations");
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** True when every migration on disk is in the ledger (for readiness checks). */
export async function isMigrated(pool: Pool, dir = MIGRATIONS_DIR): Promise<boolean> {
  const migrations = await readMigrations(dir);
  const ledger = await selectOne<{ n: number }>(pool, "SELECT COUNT(*) AS n FROM schema_migrations");
  return Number(ledger?.n ?? 0) >= migrations.length;
}
