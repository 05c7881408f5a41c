// RetryOutbox refusals (unknown id, SENT row), re-driving a DEAD row after a 5xx, and the
// failure_mode test hook (§8) when the server allows it, on Send and on RetryOutbox.
import { expect, test } from "vitest";
import { Code } from "@connectrpc/connect";
import { FailureMode, OutboxStatus } from "../../gen/email/v1/outbox_pb.js";
import type { Reply } from "../helpers/smtp-sink.js";
import { ManualClock } from "../helpers/clock.js";
import { refusal } from "../helpers/refusal.js";
import { useSinkApp } from "../helpers/sink-app.js";

const DOMAIN = "mail.test";
const clock = new ManualClock(100_000);
/** What the sink answers to DATA; undefined accepts. */
let dataReply: Reply | undefined;

const env = useSinkApp({
  label: "api_retry_modes",
  clock,
  sink: { script: (stage) => (stage === "data" ? dataReply : undefined) },
  json: { message_id_domain: DOMAIN, allow_failure_mode: true, sender: { poll_interval_ms: 3_600_000 } },
});

const message = { accountId: 1, to: ["bob@example.com"], subject: "Modes", bodyText: "Body" };

test("RetryOutbox of an unknown id is NOT_FOUND `outbox record not found`", async () => {
  const r = await refusal(env.client.retryOutbox({ outboxId: 424_242n }));
  expect(r).toMatchObject({ code: Code.NotFound, reason: "OUTBOX_NOT_FOUND", message: "outbox record not found" });
});

test("RetryOutbox of a SENT row is RETRY_NOT_ALLOWED_FOR_STATUS, with or without force", async () => {
  dataReply = undefined;
  const sent = (await env.client.send({ ...message, waitForAttempt: true })).outbox!;
  expect(sent.status).toBe(OutboxStatus.SENT);
  for (const force of [false, true]) {
    const r = await refusal(env.client.retryOutbox({ outboxId: sent.outboxId, force }));
    expect(r).toMatchObject({
      code: Code.FailedPrecondition,
      reason: "RETRY_NOT_ALLOWED_FOR_STATUS",
      message: "retry_not_allowed_for_status",
    });
  }
});

test("a 5xx makes the row DEAD at once; RetryOutbox re-drives it and it is SENT", async () => {
  dataReply = { code: 550, message: "5.7.1 Rejected by policy" };
  const dead = (await env.client.send({ ...message, subject: "Dead then sent", waitForAttempt: true })).outbox!;
  expect(dead).toMatchObject({ status: OutboxStatus.DEAD, retries: 1, lastErrorClass: "SMTP_PERMANENT" });
  expect(dead.lastError).toContain("550");
  expect(dead.nextAttemptAt).toBeUndefined();

  dataReply = undefined;
  env.sink.clear();
  const redriven = (await env.client.retryOutbox({ outboxId: dead.outboxId })).outbox!;
  expect(redriven).toMatchObject({ status: OutboxStatus.SENT, retries: 1, lastError: "" });
  const [msg] = await env.sink.waitFor(1);
  expect(msg!.parsed.subject).toBe("Dead then sent");
  expect(msg!.messageId).toBe(`<outbox-${dead.outboxId}-1@${DOMAIN}>`);
});

test("failure_mode network: FAILED `simulated network timeout`, retried with backoff, nothing sent", async () => {
  dataReply = undefined;
  env.sink.clear();
  const res = (await env.client.send({ ...message, failureMode: FailureMode.NETWORK, waitForAttempt: true })).outbox!;
  expect(res).toMatchObject({ status: OutboxStatus.FAILED, retries: 1, lastError: "simulated network timeout" });
  expect(res.nextAttemptAt).toBeDefined();
  await env.client.cancelOutbox({ outboxId: res.outboxId });
  expect(env.sink.messages).toEqual([]);
  expect(env.sink.connections).toBe(0);
});

test("failure_mode provider: DEAD `simulated provider rejection`", async () => {
  const res = (await env.client.send({ ...message, failureMode: FailureMode.PROVIDER, waitForAttempt: true })).outbox!;
  expect(res).toMatchObject({ status: OutboxStatus.DEAD, retries: 1, lastError: "simulated provider rejection" });
  expect(res.nextAttemptAt).toBeUndefined();
});

test("failure_mode on RetryOutbox applies to that attempt only", async () => {
  dataReply = { code: 451, message: "4.3.0 Later" };
  const failed = (await env.client.send({ ...message, waitForAttempt: true })).outbox!;
  expect(failed).toMatchObject({ status: OutboxStatus.FAILED, retries: 1 });

  const dead = (await env.client.retryOutbox({ outboxId: failed.outboxId, force: true, failureMode: FailureMode.PROVIDER })).outbox!;
  expect(dead).toMatchObject({ status: OutboxStatus.DEAD, retries: 2, lastError: "simulated provider rejection" });

  dataReply = undefined;
  const sent = (await env.client.retryOutbox({ outboxId: failed.outboxId })).outbox!;
  expect(sent).toMatchObject({ status: OutboxStatus.SENT, retries: 2 });
});
