// The operator commands: `--check-config` validates and exits 0 or 2 with the reason, and
// `npm run migrate` brings a database to the current schema and exits.
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, expect, test } from "vitest";
import mysql from "mysql2/promise";
import { readMigrations } from "../../src/db/migrate.js";
import { createTestDatabase, type TestDatabase } from "../helpers/db.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const dir = mkdtempSync(path.join(tmpdir(), "email-outbox-cmd-"));
const dbs: TestDatabase[] = [];
afterAll(async () => {
  for (const db of dbs) await db.drop();
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd: ROOT, env: { ...process.env, ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** The JSON log line with message `msg` (other lines may come before or after it). */
function logLine(stdout: string, msg: string): Record<string, unknown> | undefined {
  return stdout
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .find((l) => l.msg === msg);
}

function checkConfig(json: unknown, env: Record<string, string> = {}): Promise<Run> {
  const file = path.join(dir, `c${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, typeof json === "string" ? json : JSON.stringify(json));
  return run(process.execPath, ["--import", "tsx", "src/main.ts", "--check-config"], {
    EMAIL_OUTBOX_CONFIG: file,
    HOST: "127.0.0.1",
    ...env,
  });
}

const account = { id: 1, from: "Ops <ops@example.com>", smtp: { host: "smtp.example.com" }, rate_limit: { max_per_second: 0.5 } };

test("--check-config accepts a valid file and exits 0 without starting", async () => {
  const r = await checkConfig({ accounts: [account], retention: { outbox_ms: 90 * 24 * 3_600_000 } });
  expect(r).toMatchObject({ code: 0, stderr: "" });
  expect(r.stdout).toMatch(/^config OK: .*\.json: 1 account\(s\), 0 API key\(s\)\n$/);
});

test("--check-config refuses an invalid file with the reason and exit code 2", async () => {
  // Each check is a process start: run them side by side.
  const [tooLong, badRate, badJson, badUrl] = await Promise.all([
    checkConfig({ accounts: [account], sender: { poll_interval_ms: 3_000_000_000 } }),
    checkConfig({ accounts: [{ ...account, rate_limit: { max_per_second: 0 } }] }),
    checkConfig("{"),
    checkConfig({ accounts: [account] }, { DATABASE_URL: "postgres://db/x" }),
  ]);
  expect(tooLong.code).toBe(2);
  expect(tooLong.stderr).toBe(
    "invalid config: sender: poll_interval_ms must be at most 2147483647 (about 24.8 days; Node timers cannot wait longer)\n",
  );

  expect(badRate).toMatchObject({ code: 2, stdout: "" });
  expect(badRate.stderr).toBe("invalid config: account 1: rate_limit.max_per_second must be a number above 0\n");

  expect(badJson.code).toBe(2);
  expect(badJson.stderr).toMatch(/^invalid config: config file .* is not valid JSON/);

  expect(badUrl).toMatchObject({ code: 2, stderr: "invalid config: DATABASE_URL must start with mysql://\n" });
}, 60_000);

test("npm run migrate creates the database, applies every migration and exits; a second run has nothing to do", async () => {
  const db = await createTestDatabase("ops_migrate");
  dbs.push(db);
  const first = await run("npm", ["run", "-s", "migrate"], { DATABASE_URL: db.url, LOG_LEVEL: "info" });
  expect(first.code, first.stderr).toBe(0);
  const files = await readMigrations();
  expect(logLine(first.stdout, "migrations applied")).toMatchObject({ applied: files.map((m) => m.name) });

  const conn = await mysql.createConnection({ uri: db.url });
  try {
    const [rows] = (await conn.query("SELECT version FROM schema_migrations ORDER BY version")) as unknown as [{ version: number }[]];
    expect(rows.map((r) => r.version)).toEqual(files.map((m) => m.version));
  } finally {
    await conn.end();
  }

  const second = await run("npm", ["run", "-s", "migrate"], { DATABASE_URL: db.url, LOG_LEVEL: "info" });
  expect(second.code).toBe(0);
  expect(logLine(second.stdout, "schema up to date")).toMatchObject({ applied: [] });
}, 60_000);

test("npm run migrate exits 1 with the cause when the database cannot be reached", async () => {
  const r = await run("npm", ["run", "-s", "migrate"], { DATABASE_URL: "mysql://root@127.0.0.1:1/x", LOG_LEVEL: "info" });
  expect(r.code).toBe(1);
  expect(logLine(r.stdout, "migration failed")).toMatchObject({ code: "ECONNREFUSED" });
}, 60_000);
