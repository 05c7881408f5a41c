// idempotency_key: a retried Send returns the same row instead of a second email; the key with a
// different request is refused; racing duplicates make exactly one row.
import { afterAll, beforeAll, expect, test } from "vitest";
import { Code } from "@connectrpc/connect";
import { OutboxStatus } from "../../gen/email/v1/outbox_pb.js";
import { startTestApp, sinkAccount, type TestApp } from "../helpers/app.js";
import { emailClient, type EmailClient } from "../helpers/clients.js";
import { refusal } from "../helpers/refusal.js";
import { countRows } from "../helpers/tables.js";

let t: TestApp;
let client: EmailClient;

// No sender: these tests are about what the request path commits. The account is never dialled.
beforeAll(async () => {
  t = await startTestApp({ label: "api_idempotency", background: false, json: { accounts: [sinkAccount(1, 9), sinkAccount(2, 9)] } });
  client = emailClient(t.url);
});
afterAll(() => t?.close());

const request = (key: string, accountId = 1) => ({
  accountId,
  to: ["Bob <bob@example.com>"],
  subject: "Invoice",
  bodyText: "Attached.",
  idempotencyKey: key,
});

test("the same key with the same request returns the same row, once", async () => {
  const before = await countRows(t.db.url);
  const first = await client.send(request("same-1"));
  const again = await client.send(request("same-1"));
  expect(first.idempotentReplay).toBe(false);
  expect(again.idempotentReplay).toBe(true);
  expect(again.outbox!.outboxId).toBe(first.outbox!.outboxId);
  expect(again.outbox!.idempotencyKey).toBe("same-1");
  // One row and its one CREATED event: the replay wrote nothing.
  expect(await countRows(t.db.url)).toEqual({ outbox: before.outbox + 1, events: before.events + 1 });
});

test("a replay after the row was cancelled returns it cancelled, not a new email", async () => {
  const first = await client.send(request("same-2"));
  await client.cancelOutbox({ outboxId: first.outbox!.outboxId });
  const again = await client.send(request("same-2"));
  expect(again.idempotentReplay).toBe(true);
  expect(again.outbox!.outboxId).toBe(first.outbox!.outboxId);
  expect(again.outbox!.status).toBe(OutboxStatus.CANCELLED);
});

test("the same key with a different body is refused with IDEMPOTENCY_KEY_REUSED", async () => {
  const first = await client.send(request("changed-1"));
  const before = await countRows(t.db.url);
  const r = await refusal(client.send({ ...request("changed-1"), bodyText: "Attached, corrected." }));
  expect(r).toMatchObject({ code: Code.FailedPrecondition, reason: "IDEMPOTENCY_KEY_REUSED" });
  expect(r.metadata.outbox_id).toBe(String(first.outbox!.outboxId));
  expect(await countRows(t.db.url)).toEqual(before);
});

test("keys are per account: the same key on another account is another row", async () => {
  const a = await client.send(request("per-account", 1));
  const b = await client.send(request("per-account", 2));
  expect(b.idempotentReplay).toBe(false);
  expect(b.outbox!.outboxId).not.toBe(a.outbox!.outboxId);
});

test("20 concurrent duplicate Sends with one key make exactly one row", async () => {
  const before = await countRows(t.db.url);
  const results = await Promise.all(Array.from({ length: 20 }, () => client.send(request("race-1"))));
  const ids = new Set(results.map((r) => r.outbox!.outboxId));
  expect(ids.size).toBe(1);
  expect(results.filter((r) => !r.idempotentReplay)).toHaveLength(1);
  expect(await countRows(t.db.url)).toEqual({ outbox: before.outbox + 1, events: before.events + 1 });
});

test("keys compare byte for byte: a trailing space, case or an accent make another key", async () => {
  const keys = ["k", "k ", "K", "é", "e\u0301"];
  const rows = await Promise.all(keys.map((key) => client.send({ ...request(key), subject: `for ${JSON.stringify(key)}` })));
  expect(rows.map((r) => r.idempotentReplay)).toEqual(keys.map(() => false));
  expect(new Set(rows.map((r) => r.outbox!.outboxId)).size).toBe(keys.length);
  expect(rows.map((r) => r.outbox!.idempotencyKey)).toEqual(keys);
  const again = await client.send({ ...request("k "), subject: `for ${JSON.stringify("k ")}` });
  expect([again.idempotentReplay, again.outbox!.outboxId]).toEqual([true, rows[1]!.outbox!.outboxId]);
});
