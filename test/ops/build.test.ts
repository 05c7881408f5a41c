// The compiled service as it is deployed. A copy of the working tree without dist/ (as a fresh
// clone has it) runs `npm start`, which builds first; SIGTERM to npm's own pid stops the service
// gracefully. Its dist/ then runs as plain `node dist/main.js` where `npm ci --omit=dev` installed
// only the runtime dependencies, and SIGTERM to that node process stops it gracefully too.
import { execFile } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, test } from "vitest";
import { createTestDatabase, type TestDatabase } from "../helpers/db.js";
import { startProcess, type ServiceProcess } from "../helpers/service-process.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const run = promisify(execFile);
const scratch = mkdtempSync(path.join(tmpdir(), "email-outbox-build-"));
const clone = path.join(scratch, "clone");
const deploy = path.join(scratch, "deploy");
let db: TestDatabase;
const started: ServiceProcess[] = [];

beforeAll(async () => {
  db = await createTestDatabase("build");
  // The files a clone has: tracked and new, not ignored (so no dist/, no node_modules/).
  const { stdout } = await run("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: ROOT, maxBuffer: 1 << 24 });
  for (const file of stdout.split("\0").filter((f) => f && existsSync(path.join(ROOT, f)))) {
    mkdirSync(path.dirname(path.join(clone, file)), { recursive: true });
    cpSync(path.join(ROOT, file), path.join(clone, file));
  }
  // `npm ci` would install exactly these (with dev dependencies); linking saves the minute.
  symlinkSync(path.join(ROOT, "node_modules"), path.join(clone, "node_modules"));
});
afterAll(async () => {
  for (const proc of started) proc.kill("SIGKILL");
  await db?.drop();
  rmSync(scratch, { recursive: true, force: true });
});

async function stopsGracefully(proc: ServiceProcess): Promise<void> {
  proc.kill("SIGTERM");
  expect(await proc.exited).toBe(0);
  expect(proc.logs.map((l) => l.msg)).toEqual(expect.arrayContaining(["stopping", "stopped"]));
  // Nothing was left behind holding the port.
  await expect(fetch(`${proc.url}/healthz`)).rejects.toThrow();
}

async function servesDashboardAndRpcs(proc: ServiceProcess): Promise<void> {
  const page = await fetch(`${proc.url}/`);
  expect(page.status).toBe(200);
  expect(await page.text()).toContain("<!doctype html>");
  const health = await fetch(`${proc.url}/grpc.health.v1.Health/Check`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: "{}",
  });
  expect(await health.json()).toEqual({ status: "SERVING" });
}

test("npm start on a fresh clone builds dist/, serves, and SIGTERM to npm's pid stops the service", { timeout: 120_000 }, async () => {
  expect(existsSync(path.join(clone, "dist"))).toBe(false);
  const proc = await startProcess("npm", ["start"], { cwd: clone, env: { DATABASE_URL: db.url }, startTimeoutMs: 90_000 });
  started.push(proc);
  expect(existsSync(path.join(clone, "dist", "main.js"))).toBe(true);
  await servesDashboardAndRpcs(proc);
  await stopsGracefully(proc);
});

test("node dist/main.js runs with only the runtime dependencies, and stops on SIGTERM", { timeout: 180_000 }, async () => {
  expect(existsSync(path.join(clone, "dist", "main.js"))).toBe(true);
  for (const entry of ["package.json", "package-lock.json", "dist", "migrations"])
    cpSync(path.join(clone, entry), path.join(deploy, entry), { recursive: true });
  await run("npm", ["ci", "--omit=dev", "--prefer-offline", "--no-audit", "--no-fund", "--ignore-scripts"], {
    cwd: deploy,
    timeout: 150_000,
  });
  // (@types/node stays: mysql2 depends on it.)
  for (const dev of ["tsx", "esbuild", "typescript", "@types/nodemailer", "vitest"])
    expect(existsSync(path.join(deploy, "node_modules", dev)), dev).toBe(false);
  const proc = await startProcess(process.execPath, ["dist/main.js"], { cwd: deploy, env: { DATABASE_URL: db.url } });
  started.push(proc);
  await servesDashboardAndRpcs(proc);
  await stopsGracefully(proc);
});
