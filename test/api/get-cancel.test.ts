// GetOutbox and CancelOutbox: unknown ids, what a row carries, and which states may be
// cancelled (pending, scheduled, failed) — a cancelled row is never sent.
import { expect, test } from "vitest";
import { Code } from "@connectrpc/connect";
import { timestampFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import { FailureMode, OutboxStatus } from "../../gen/email/v1/outbox_pb.js";
import { ManualClock } from "../helpers/clock.js";
import { refusal } from "../helpers/refusal.js";
import { useSinkApp } from "../helpers/sink-app.js";

const T0 = 1_000_000_000_000;
const clock = new ManualClock(T0);

// A manual clock and a long poll: only enqueues on this instance wake the sender.
const env = useSinkApp({ label: "api_get_cancel", clock, json: { allow_failure_mode: true, sender: { poll_interval_ms: 3_600_000 } } });

const message = { accountId: 1, to: ["Bob <bob@example.com>"], cc: ["carol@example.com"], subject: "Hello", bodyText: "Body" };

test("GetOutbox of an unknown id is NOT_FOUND `outbox record not found`", async () => {
  const r = await refusal(env.client.getOutbox({ outboxId: 987_654n }));
  expect(r).toMatchObject({ code: Code.NotFound, reason: "OUTBOX_NOT_FOUND", message: "outbox record not found" });
});

test("GetOutbox of id 0 is INVALID_ARGUMENT", async () => {
  const r = await refusal(env.client.getOutbox({ outboxId: 0n }));
  expect(r).toMatchObject({ code: Code.InvalidArgument, reason: "OUTBOX_ID_INVALID", fields: ["outbox_id"] });
});

test("GetOutbox returns the row as Send committed and the sender finished it", async () => {
  const sent = await env.client.send({ ...message, idempotencyKey: "get-1", waitForAttempt: true });
  const { outbox } = await env.client.getOutbox({ outboxId: sent.outbox!.outboxId });
  expect(outbox).toMatchObject({
    outboxId: sent.outbox!.outboxId,
    accountId: 1,
    status: OutboxStatus.SENT,
    retries: 0,
    subject: "Hello",
    to: ['"Bob" <bob@example.com>'],
    cc: ["carol@example.com"],
    bcc: [],
    idempotencyKey: "get-1",
    lastError: "",
    messageId: `<outbox-${sent.outbox!.outboxId}-0@prx-email.local>`,
  });
  expect(outbox!.providerMessageId).toMatch(/^smtp-/);
  // As the original product's SendResult: a sent row's next_attempt_at is when it was sent.
  expect(timestampMs(outbox!.nextAttemptAt!)).toBe(T0);
  expect(timestampMs(outbox!.createTime!)).toBe(T0);
  expect(timestampMs(outbox!.sentTime!)).toBe(T0);
});

test("a scheduled row is cancelled and never sent, even once it is due", async () => {
  const sendAt = T0 + 60_000;
  const scheduled = await env.client.send({ ...message, subject: "Later", sendAt: timestampFromMs(sendAt), waitForAttempt: true });
  expect(scheduled.outbox).toMatchObject({ status: OutboxStatus.PENDING });
  expect(timestampMs(scheduled.outbox!.nextAttemptAt!)).toBe(sendAt);

  const { outbox } = await env.client.cancelOutbox({ outboxId: scheduled.outbox!.outboxId });
  expect(outbox).toMatchObject({ status: OutboxStatus.CANCELLED });
  expect(outbox!.nextAttemptAt).toBeUndefined();

  // Past its send_at, a new Send wakes the sender, which claims every due row in one batch.
  clock.set(sendAt + 1_000);
  env.sink.clear();
  const after = await env.client.send({ ...message, subject: "Now", waitForAttempt: true });
  expect(after.outbox!.status).toBe(OutboxStatus.SENT);
  expect(env.sink.messages.map((m) => m.parsed.subject)).toEqual(["Now"]);
  expect((await env.client.getOutbox({ outboxId: scheduled.outbox!.outboxId })).outbox!.status).toBe(OutboxStatus.CANCELLED);
});

test("a FAILED row can be cancelled, and is then not retried", async () => {
  const failed = await env.client.send({ ...message, failureMode: FailureMode.NETWORK, waitForAttempt: true });
  expect(failed.outbox).toMatchObject({ status: OutboxStatus.FAILED, retries: 1 });
  const { outbox } = await env.client.cancelOutbox({ outboxId: failed.outbox!.outboxId });
  expect(outbox).toMatchObject({ status: OutboxStatus.CANCELLED, retries: 1 });
  const r = await refusal(env.client.retryOutbox({ outboxId: failed.outbox!.outboxId, force: true }));
  expect(r).toMatchObject({ code: Code.FailedPrecondition, reason: "RETRY_NOT_ALLOWED_FOR_STATUS" });
});

test("cancelling a SENT row is FAILED_PRECONDITION and changes nothing", async () => {
  const sent = await env.client.send({ ...message, waitForAttempt: true });
  expect(sent.outbox!.status).toBe(OutboxStatus.SENT);
  const r = await refusal(env.client.cancelOutbox({ outboxId: sent.outbox!.outboxId }));
  expect(r).toMatchObject({ code: Code.FailedPrecondition, reason: "CANCEL_NOT_ALLOWED_FOR_STATUS" });
  expect((await env.client.getOutbox({ outboxId: sent.outbox!.outboxId })).outbox!.status).toBe(OutboxStatus.SENT);
});

test("cancelling twice: the second is FAILED_PRECONDITION", async () => {
  const scheduled = await env.client.send({ ...message, sendAt: timestampFromMs(clock.now() + 3_600_000) });
  await env.client.cancelOutbox({ outboxId: scheduled.outbox!.outboxId });
  const r = await refusal(env.client.cancelOutbox({ outboxId: scheduled.outbox!.outboxId }));
  expect(r).toMatchObject({ code: Code.FailedPrecondition, reason: "CANCEL_NOT_ALLOWED_FOR_STATUS" });
});

test("cancelling an unknown id is NOT_FOUND", async () => {
  const r = await refusal(env.client.cancelOutbox({ outboxId: 987_654n }));
  expect(r).toMatchObject({ code: Code.NotFound, reason: "OUTBOX_NOT_FOUND", message: "outbox record not found" });
});
