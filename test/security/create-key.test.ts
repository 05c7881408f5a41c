// `npm run key:create`: the printed key is accepted by a server configured with the printed entry.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, expect, test } from "vitest";
import { Code } from "@connectrpc/connect";
import { EmailService } from "../../gen/email/v1/email_service_pb.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { refusal } from "../helpers/refusal.js";
import { newKey } from "../../src/api/auth/new-key.js";
import { keyedClient } from "./keys.js";

const run = promisify(execFile);
const keyCreate = (...args: string[]) => run("npm", ["run", "-s", "key:create", "--", ...args], { timeout: 30_000 });

let t: TestApp | undefined;
afterAll(() => t?.close());

test("prints a key once and an entry that holds only its hash", async () => {
  const { stdout } = await keyCreate("--accounts", "1,2", "--scopes", "send,read", "--id", "ci-bot");
  const key = /^(eo_[A-Za-z0-9_-]{43})$/m.exec(stdout)?.[1];
  expect(key).toBeDefined();
  expect(stdout.split(key!).length - 1).toBe(1);
  const entry = JSON.parse(stdout.trim().split("\n").pop()!) as Record<string, unknown>;
  expect(entry).toEqual({ id: "ci-bot", sha256: expect.stringMatching(/^[0-9a-f]{64}$/), accounts: [1, 2], scopes: ["send", "read"] });

  t = await startTestApp({
    label: "create_key",
    background: false,
    json: { accounts: [{ id: 1, from: "a@example.com", file_dir: "/tmp/eo-key" }], api_keys: [entry] },
  });
  const ok = await keyedClient(EmailService, t.url, key).listOutbox({ accountId: 1 });
  expect(ok.outboxes).toEqual([]);
  const denied = await refusal(keyedClient(EmailService, t.url, key).cancelOutbox({ outboxId: 1n }));
  expect(denied).toMatchObject({ code: Code.PermissionDenied, reason: "SCOPE_NOT_ALLOWED" });
});

test("a usage error exits with code 2 and prints nothing on stdout", async () => {
  const err = await keyCreate("--accounts", "1").catch((e: { code: number; stderr: string; stdout: string }) => e);
  expect(err).toMatchObject({ code: 2, stdout: "", stderr: expect.stringContaining("--accounts and --scopes are required") });
});

test.each([
  [["--accounts", "one", "--scopes", "send"], "--accounts must be '*' or account ids separated by commas"],
  [["--accounts", "0", "--scopes", "send"], "--accounts must be '*' or account ids separated by commas"],
  [
    ["--accounts", "*", "--scopes", "send,admin"],
    "unknown scope admin (send, reply, retry, cancel, read, watch, ingest, suppress, metrics, templates)",
  ],
  [["--accounts", "*", "--scopes", "send", "--id", "a b"], "--id must be 1-64 letters, digits, '.', '_' or '-'"],
  [["--accounts", "*", "--scopes", "send", "--key", "x"], "Unknown option '--key'"],
])("refuses %j", (args, message) => {
  expect(() => newKey(args)).toThrow(message);
});

test("accounts '*' and repeated scopes", () => {
  const { key, entry } = newKey(["--accounts", "*", "--scopes", "read,read,watch"]);
  expect(entry).toMatchObject({ accounts: "*", scopes: ["read", "watch"], id: expect.stringMatching(/^key-[0-9a-f]{8}$/) });
  expect(JSON.stringify(entry)).not.toContain(key);
});
