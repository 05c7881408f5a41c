// A part that fails to start stops every part started before it, in reverse: no pool or lock
// connection stays open on the database, no port stays bound, and a process whose start failed
// ends by itself (nothing left holding its event loop).
import { spawn } from "node:child_process";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import mysql from "mysql2/promise";
import { afterAll, beforeAll, expect, test } from "vitest";
import { startApp } from "../../src/app/app.js";
import { parseConfig } from "../../src/config/config.js";
import { freePort } from "../../src/db/private-mariadb.js";
import { createLogger } from "../../src/lib/log.js";
import { createTestDatabase, SERVER_URL, type TestDatabase } from "../helpers/db.js";
import { imapAccount, withUnappliableImap } from "./late-failure.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
let db: TestDatabase;
let taken: net.Server;

beforeAll(async () => {
  db = await createTestDatabase("start_unwind");
  taken = net.createServer();
  await new Promise<void>((r) => taken.listen(0, "127.0.0.1", () => r()));
});
afterAll(async () => {
  taken?.close();
  await db?.drop();
});

/** Connections to the test database, whoever holds them (pool, probe, locks). */
async function connectionsToDb(): Promise<number> {
  const conn = await mysql.createConnection({ uri: SERVER_URL });
  try {
    const [rows] = (await conn.query("SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE DB = ?", [db.name])) as unknown as [
      { n: number }[],
    ];
    return Number(rows[0]!.n);
  } finally {
    await conn.end();
  }
}

function bindable(port: number): Promise<boolean> {
  const server = net.createServer();
  return new Promise((resolve) => {
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

const env = (port: number) => ({ DATABASE_URL: db.url, HOST: "127.0.0.1", PORT: String(port) });

test("the IMAP ingest, the last part, fails: every part before it is stopped", async () => {
  const [port, metricsPort] = [await freePort(), await freePort()];
  const json = { accounts: [imapAccount(1)], metrics: { listen: `127.0.0.1:${metricsPort}` } };
  const config = withUnappliableImap(parseConfig(json, env(port), process.cwd()), 1);
  await expect(startApp({ config, log: createLogger("silent") })).rejects.toThrow(/BigInt/);
  // The pool, the probe's connection and the maintenance lock's are closed; the server notices
  // a closed connection a moment later.
  await expect.poll(connectionsToDb, { timeout: 10_000, interval: 100 }).toBe(0);
  expect([await bindable(port), await bindable(metricsPort)]).toEqual([true, true]);
});

test("the port is taken: the parts started before the listener are stopped", async () => {
  const metricsPort = await freePort();
  const json = { accounts: [{ id: 1, from: "a@example.com", file_dir: "mail-out" }], metrics: { listen: `127.0.0.1:${metricsPort}` } };
  const config = parseConfig(json, env((taken.address() as net.AddressInfo).port), process.cwd());
  await expect(startApp({ config, log: createLogger("silent") })).rejects.toMatchObject({ code: "EADDRINUSE" });
  await expect.poll(connectionsToDb, { timeout: 10_000, interval: 100 }).toBe(0);
  expect(await bindable(metricsPort)).toBe(true);
});

test("a process whose start failed at its last part ends by itself", async () => {
  const spec = { json: { accounts: [imapAccount(1)] }, env: env(0), breakImapOf: 1 };
  const child = spawn(process.execPath, ["--import", "tsx", "test/ops/start-and-fail.ts"], {
    cwd: ROOT,
    env: { ...process.env, START_SPEC: JSON.stringify(spec) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`still running 20 s after its start failed: something was left running; output: ${out.slice(-2000)}`));
    }, 20_000);
    child.once("close", (c, signal) => {
      clearTimeout(timer);
      resolve(c ?? signal ?? -1);
    });
  });
  expect(code, out).toBe(0);
  expect(out).toContain('"msg":"start rejected"');
  expect(out).toContain('"service":"imap ingest"');
});
