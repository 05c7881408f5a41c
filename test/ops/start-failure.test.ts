// A start that fails — the port is taken, the database cannot be reached, the config is invalid —
// ends the process with a non-zero code and a log line with the cause, instead of leaving a live
// process that a supervisor would take for a running service. Other lines may come after it (the
// parts already started stop, a private database stops; pino flushes a fatal line first), so the
// line is looked for, not expected last.
import { spawn } from "node:child_process";
import net from "node:net";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, test } from "vitest";
import { parseConfig } from "../../src/config/config.js";
import { createTestDatabase, type TestDatabase } from "../helpers/db.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const dir = mkdtempSync(path.join(tmpdir(), "email-outbox-start-"));
let db: TestDatabase;
let taken: net.Server;

beforeAll(async () => {
  db = await createTestDatabase("start_failure");
  taken = net.createServer();
  await new Promise<void>((r) => taken.listen(0, "127.0.0.1", () => r()));
});
afterAll(async () => {
  taken?.close();
  await db?.drop();
});

/** Runs src/main.ts; resolves with its exit code and log lines, or fails if it is still alive after 20 s. */
function start(env: Record<string, string>, config: unknown = { accounts: [{ id: 1, from: "a@example.com", file_dir: dir }] }) {
  const file = path.join(dir, `c${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(config));
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    cwd: ROOT,
    env: { ...process.env, HOST: "127.0.0.1", LOG_LEVEL: "info", EMAIL_OUTBOX_CONFIG: file, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  return new Promise<{ code: number | null; logs: Record<string, unknown>[] }>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`still running after 20 s; output: ${out.slice(-2000)}`));
    }, 20_000);
    // "close", not "exit": the last lines may still be in the pipe when the process has exited.
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({
        code,
        logs: out
          .split("\n")
          .filter((l) => l.startsWith("{"))
          .map((l) => JSON.parse(l) as Record<string, unknown>),
      });
    });
  });
}

test("a port already in use: exit 1 with EADDRINUSE", async () => {
  const { code, logs } = await start({ DATABASE_URL: db.url, PORT: String((taken.address() as net.AddressInfo).port) });
  expect(code).toBe(1);
  expect(logs).toContainEqual(expect.objectContaining({ msg: "failed to start", code: "EADDRINUSE" }));
  expect(logs.some((l) => l.msg === "event tail read failed")).toBe(false);
});

test("a database that refuses connections: exit 1 with the cause", async () => {
  const closed = net.createServer();
  const port = await new Promise<number>((r) => closed.listen(0, "127.0.0.1", () => r((closed.address() as net.AddressInfo).port)));
  await new Promise((r) => closed.close(r));
  const { code, logs } = await start({ DATABASE_URL: `mysql://root@127.0.0.1:${port}/x`, PORT: "0" });
  expect(code).toBe(1);
  expect(logs).toContainEqual(expect.objectContaining({ msg: "failed to start", code: "ECONNREFUSED" }));
});

test("an invalid config: exit 2 with the reason", async () => {
  const { code, logs } = await start({ DATABASE_URL: db.url, PORT: "0" }, { accounts: [{ id: 1 }] });
  expect(code).toBe(2);
  expect(logs).toContainEqual(
    expect.objectContaining({ msg: "invalid configuration", reason: "account 1: from is required (one address, no line breaks)" }),
  );
});

test("HOST in brackets, as in a URL, is the address inside them", () => {
  expect(parseConfig({}, { HOST: "[::1]" }, "/").host).toBe("::1");
});
