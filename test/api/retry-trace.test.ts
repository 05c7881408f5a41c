// RetryOutbox, the reference's §4 worked trace on a manual clock against a server that answers
// 451 to every message: send at 100 s fails → retries 1, next 110; retry at 105 → RETRY_NOT_DUE;
// retry at 200 → retries 2, next 220; retry at 300 → retries 3, next 340. Then: due exactly now
// is allowed, and `force` skips the due check.
import { afterAll, beforeAll, expect, test } from "vitest";
import { Code } from "@connectrpc/connect";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import type { Outbox } from "../../gen/email/v1/outbox_pb.js";
import { OutboxStatus } from "../../gen/email/v1/outbox_pb.js";
import { startSmtpSink, type SmtpSink } from "../helpers/smtp-sink.js";
import { sinkAccount, startTestApp, type TestApp } from "../helpers/app.js";
import { ManualClock } from "../helpers/clock.js";
import { emailClient, type EmailClient } from "../helpers/clients.js";
import { refusal } from "../helpers/refusal.js";

const DOMAIN = "mail.test";
const clock = new ManualClock(100_000);
/** The Message-ID of every DATA the sink refused, in order. */
const attempts: string[] = [];
let sink: SmtpSink;
let t: TestApp;
let client: EmailClient;

// The poll interval is an hour of real time: only the test's own calls drive attempts.
beforeAll(async () => {
  sink = await startSmtpSink({
    script: (stage, ctx) => {
      if (stage !== "data") return undefined;
      attempts.push(/^Message-ID:\s*(\S+)/im.exec(ctx.raw!.toString())?.[1] ?? "");
      return { code: 451, message: "4.3.0 Try again later" };
    },
  });
  t = await startTestApp({
    label: "api_retry_trace",
    clock,
    json: { accounts: [sinkAccount(1, sink.port)], message_id_domain: DOMAIN, sender: { poll_interval_ms: 3_600_000 } },
  });
  client = emailClient(t.url);
});
afterAll(async () => {
  await t?.close();
  await sink?.close();
});

const message = { accountId: 1, to: ["bob@example.com"], subject: "Trace", bodyText: "Body" };
const nextMs = (o: Outbox | undefined) => (o?.nextAttemptAt ? timestampMs(o.nextAttemptAt) : undefined);

async function retryAt(ms: number, id: bigint, force = false): Promise<Outbox> {
  clock.set(ms);
  return (await client.retryOutbox({ outboxId: id, force })).outbox!;
}

test("the reference trace: 100 → 110, 105 not due, 200 → 220, 300 → 340", async () => {
  attempts.length = 0;
  clock.set(100_000);
  const sent = (await client.send({ ...message, waitForAttempt: true })).outbox!;
  const id = sent.outboxId;
  expect(sent).toMatchObject({ status: OutboxStatus.FAILED, retries: 1, lastErrorClass: "SMTP_TRANSIENT" });
  expect(sent.lastError).toContain("451");
  expect(nextMs(sent)).toBe(110_000);

  clock.set(105_000);
  const notDue = await refusal(client.retryOutbox({ outboxId: id }));
  expect(notDue).toMatchObject({ code: Code.FailedPrecondition, reason: "RETRY_NOT_DUE", message: "retry_not_due" });
  // A refused retry changes nothing.
  const unchanged = (await client.getOutbox({ outboxId: id })).outbox!;
  expect({ status: unchanged.status, retries: unchanged.retries, next: nextMs(unchanged) }).toEqual({
    status: OutboxStatus.FAILED,
    retries: 1,
    next: 110_000,
  });

  const second = await retryAt(200_000, id);
  expect({ status: second.status, retries: second.retries, next: nextMs(second) }).toEqual({
    status: OutboxStatus.FAILED,
    retries: 2,
    next: 220_000,
  });

  const third = await retryAt(300_000, id);
  expect({ status: third.status, retries: third.retries, next: nextMs(third) }).toEqual({
    status: OutboxStatus.FAILED,
    retries: 3,
    next: 340_000,
  });

  // Each attempt carried the retries read at claim time in its Message-ID.
  expect(attempts).toEqual([0, 1, 2].map((n) => `<outbox-${id}-${n}@${DOMAIN}>`));
  expect(third.messageId).toBe(`<outbox-${id}-2@${DOMAIN}>`);

  // Out of the queue, so later enqueues (which wake the sender) cannot pick it up.
  await client.cancelOutbox({ outboxId: id });
});

test("a retry due exactly now is allowed; a millisecond earlier it is not", async () => {
  clock.set(400_000);
  const sent = (await client.send({ ...message, waitForAttempt: true })).outbox!;
  expect(nextMs(sent)).toBe(410_000);

  clock.set(409_999);
  expect(await refusal(client.retryOutbox({ outboxId: sent.outboxId }))).toMatchObject({ reason: "RETRY_NOT_DUE" });

  const retried = await retryAt(410_000, sent.outboxId);
  expect({ status: retried.status, retries: retried.retries, next: nextMs(retried) }).toEqual({
    status: OutboxStatus.FAILED,
    retries: 2,
    next: 430_000,
  });
  await client.cancelOutbox({ outboxId: sent.outboxId });
});

test("force skips the due check", async () => {
  clock.set(500_000);
  const sent = (await client.send({ ...message, waitForAttempt: true })).outbox!;
  expect(nextMs(sent)).toBe(510_000);

  const forced = await retryAt(500_001, sent.outboxId, true);
  expect({ status: forced.status, retries: forced.retries, next: nextMs(forced) }).toEqual({
    status: OutboxStatus.FAILED,
    retries: 2,
    next: 520_001,
  });
  await client.cancelOutbox({ outboxId: sent.outboxId });
});

test("a PENDING row (scheduled for later) is not due; force sends it now", async () => {
  clock.set(600_000);
  const scheduled = (await client.send({ ...message, sendAt: { seconds: 700n, nanos: 0 } })).outbox!;
  expect(scheduled.status).toBe(OutboxStatus.PENDING);
  expect(await refusal(client.retryOutbox({ outboxId: scheduled.outboxId }))).toMatchObject({ reason: "RETRY_NOT_DUE" });
  const forced = await retryAt(600_000, scheduled.outboxId, true);
  expect(forced).toMatchObject({ status: OutboxStatus.FAILED, retries: 1 });
  await client.cancelOutbox({ outboxId: scheduled.outboxId });
});
