// `npm start` with no DATABASE_URL and nothing on the MySQL port: the service runs a private
// MariaDB of its own in the given data directory, reachable only on 127.0.0.1, and stops it.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import mysql from "mysql2/promise";
import { afterAll, expect, test } from "vitest";
import { provideLocalDatabase } from "../../src/app/local-database.js";
import { answers, freePort } from "../../src/db/private-mariadb.js";
import { createLogger } from "../../src/lib/log.js";

const dataDir = mkdtempSync(path.join(tmpdir(), "eo-private-db-"));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

test("no DATABASE_URL and no server: a private MariaDB is started, answers, and stops", async () => {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {};
  const server = await provideLocalDatabase(env, createLogger("silent"), { port, dataDir });
  expect(server).toBeDefined();
  expect(env.DATABASE_URL).toMatch(/^mysql:\/\/root@127\.0\.0\.1:\d+\/email_outbox$/);
  const conn = await mysql.createConnection({ uri: server!.serverUrl });
  const [[row]] = (await conn.query("SELECT @@bind_address AS bind, @@datadir AS dir")) as unknown as [[{ bind: string; dir: string }]];
  await conn.end();
  expect(row.bind).toBe("127.0.0.1");
  expect(row.dir.startsWith(dataDir)).toBe(true);
  await server!.stop();
  expect(await answers("127.0.0.1", Number(new URL(server!.serverUrl).port))).toBe(false);
}, 90_000);

test("a configured DATABASE_URL is left alone: no server is started", async () => {
  const env: NodeJS.ProcessEnv = { DATABASE_URL: "mysql://root@127.0.0.1:1/x" };
  expect(await provideLocalDatabase(env, createLogger("silent"), { port: await freePort(), dataDir })).toBeUndefined();
  expect(env.DATABASE_URL).toBe("mysql://root@127.0.0.1:1/x");
});
