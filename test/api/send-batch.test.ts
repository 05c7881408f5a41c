// SendBatch: each message is validated and committed on its own, answered in request order with
// its row or the error Send would have returned; only a batch of the wrong size fails whole.
import { afterAll, beforeAll, expect, test } from "vitest";
import { Code } from "@connectrpc/connect";
import { OutboxStatus } from "../../gen/email/v1/outbox_pb.js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { SendRequestSchema } from "../../gen/email/v1/email_service_pb.js";
import { batchError, errorReason, fieldViolations } from "../../src/client/errors.js";
import { startTestApp, sinkAccount, type TestApp } from "../helpers/app.js";
import { emailClient, grpcJsClient, type EmailClient } from "../helpers/clients.js";
import { refusal } from "../helpers/refusal.js";
import { countRows } from "../helpers/tables.js";
import { startSmtpSink, type SmtpSink } from "../helpers/smtp-sink.js";

let sink: SmtpSink;
let t: TestApp;
let client: EmailClient;

beforeAll(async () => {
  sink = await startSmtpSink();
  t = await startTestApp({ label: "api_send_batch", json: { accounts: [sinkAccount(1, sink.port)] } });
  client = emailClient(t.url, "connect-node gRPC (HTTP/2)");
});
afterAll(async () => {
  await t?.close();
  await sink?.close();
});

const msg = (subject: string, extra: MessageInitShape<typeof SendRequestSchema> = {}) => ({
  accountId: 1,
  to: ["bob@example.com"],
  subject,
  bodyText: "b",
  ...extra,
});

test("valid messages are committed and delivered; each refused one gets Send's error, in order", async () => {
  const before = await countRows(t.db.url);
  const res = await client.sendBatch({
    messages: [
      msg("one"),
      msg("bad address", { to: ["not an address"] }),
      msg("waits", { waitForAttempt: true }),
      msg("unknown account", { accountId: 77 }),
      msg("two", { idempotencyKey: "batch-key" }),
      msg("two", { idempotencyKey: "batch-key" }),
      msg("key reused", { idempotencyKey: "batch-key", bodyText: "other" }),
    ],
  });
  const r = res.results;
  expect(r).toHaveLength(7);
  expect(r[0]!.result.case).toBe("outbox");
  expect(batchError(r[1]!)).toMatchObject({ code: Code.InvalidArgument });
  expect(errorReason(batchError(r[1]!))).toBe("ADDRESS_INVALID");
  expect(fieldViolations(batchError(r[1]!)).map((v) => v.field)).toEqual(["to[0]"]);
  expect(errorReason(batchError(r[2]!))).toBe("WAIT_NOT_ALLOWED_IN_BATCH");
  expect(batchError(r[3]!)).toMatchObject({ code: Code.NotFound });
  expect(errorReason(batchError(r[3]!))).toBe("ACCOUNT_NOT_FOUND");
  // The same key twice with the same message: one row, the second result is its replay.
  const [a, b] = [r[4]!, r[5]!];
  expect(a.result.case === "outbox" && b.result.case === "outbox").toBe(true);
  expect((a.result.value as { outboxId: bigint }).outboxId).toBe((b.result.value as { outboxId: bigint }).outboxId);
  expect([a.idempotentReplay, b.idempotentReplay].sort()).toEqual([false, true]);
  expect(batchError(r[6]!)).toMatchObject({ code: Code.FailedPrecondition });
  expect(errorReason(batchError(r[6]!))).toBe("IDEMPOTENCY_KEY_REUSED");

  // Two rows written (one, two), each with its events; nothing for the refused ones.
  const after = await countRows(t.db.url);
  expect(after.outbox - before.outbox).toBe(2);
  const got = await sink.waitFor(2, 20_000);
  expect(got.map((m) => m.parsed.subject).sort()).toEqual(["one", "two"]);
  for (const res of [r[0]!, r[4]!]) {
    const id = (res.result.value as { outboxId: bigint }).outboxId;
    await expect.poll(async () => (await client.getOutbox({ outboxId: id })).outbox!.status, { timeout: 20_000 }).toBe(OutboxStatus.SENT);
  }
});

test("an empty batch and one over 500 messages are refused whole with BATCH_SIZE_INVALID", async () => {
  const before = await countRows(t.db.url);
  expect(await refusal(client.sendBatch({ messages: [] }))).toMatchObject({ code: Code.InvalidArgument, reason: "BATCH_SIZE_INVALID" });
  const tooMany = Array.from({ length: 501 }, (_, i) => msg(`m${i}`));
  expect(await refusal(client.sendBatch({ messages: tooMany }))).toMatchObject({
    code: Code.InvalidArgument,
    reason: "BATCH_SIZE_INVALID",
  });
  expect(await countRows(t.db.url)).toEqual(before);
});

test("500 messages commit with one result each, in request order, over grpc-js too", async () => {
  const grpc = grpcJsClient(t.url);
  try {
    const messages = Array.from({ length: 500 }, (_, i) => ({
      account_id: 1,
      to: ["bob@example.com"],
      subject: `bulk ${i}`,
      body_text: "b",
    }));
    const res = (await grpc.unary("SendBatch", { messages })) as { results: { outbox?: { outbox_id: string; subject: string } }[] };
    expect(res.results).toHaveLength(500);
    expect(res.results.map((x) => x.outbox?.subject)).toEqual(messages.map((m) => m.subject));
    expect(new Set(res.results.map((x) => x.outbox!.outbox_id)).size).toBe(500);
  } finally {
    grpc.close();
  }
});

test("over Connect JSON a refused message's result carries its ErrorInfo and BadRequest too", async () => {
  const json = emailClient(t.url, "connect-node Connect (HTTP/1.1)");
  const res = await json.sendBatch({ messages: [msg("json ok"), msg("json bad", { to: ["nope"] })] });
  expect(res.results[0]!.result.case).toBe("outbox");
  expect(errorReason(batchError(res.results[1]!))).toBe("ADDRESS_INVALID");
  expect(fieldViolations(batchError(res.results[1]!)).map((v) => v.field)).toEqual(["to[0]"]);
});
