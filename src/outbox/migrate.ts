// Numbered, append-only migrations with a ledger. Several instances may start at once: a named
// lock makes them take turns, and each applies only what the ledger lacks.
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import type { Pool } from "./db.js";
import { packageRoot } from "../package-root.js";
import { select, selectOne } from "./query.js";

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
  const conn = await pool.getConnection();
  try {
    const lock = await selectOne<{ got: number }>(conn, "SELECT GET_LOCK('email_outbox.migrate', 60) AS got");
    if (lock?.got !== 1) throw new Error("timed out waiting for another instance's migrations");
    try {
      await conn.query(
        `CREATE TABLE IF NOT EXISTS schema_migrations (
           version INT UNSIGNED NOT NULL PRIMARY KEY,
           name VARCHAR(200) NOT NULL,
           applied_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
         ) ENGINE = InnoDB`,
      );
      const rows = await select<{ version: number }>(conn, "SELECT version FROM schema_migrations");
      const done = new Set(rows.map((r) => r.version));
      const applied: string[] = [];
      for (const m of migrations) {
        if (done.has(m.version)) continue;
        // DDL commits implicitly, so each file holds one statement and the ledger row follows it.
        await conn.query(m.sql);
        await conn.query("INSERT INTO schema_migrations (version, name) VALUES (?, ?)", [m.version, m.name]);
        applied.push(m.name);
      }
      return applied;
    } finally {
      await conn.query("SELECT RELEASE_LOCK('email_outbox.migrate')");
    }
  } finally {
    conn.release();
  }
}

/** True when every migration on disk is in the ledger (for readiness checks). */
export async function isMigrated(pool: Pool, dir = MIGRATIONS_DIR): Promise<boolean> {
  const migrations = await readMigrations(dir);
  const rows = await select<{ n: number }>(pool, "SELECT COUNT(*) AS n FROM schema_migrations");
  return Number(rows[0]?.n ?? 0) >= migrations.length;
}
