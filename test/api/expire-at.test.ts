// expire_at end to end on a manual clock, with a real SMTP sink and a real webhook receiver: a
// message whose expiry passes while it waits for a retry, or before its first attempt (its
// account rate-limited), ends EXPIRED with its event and webhook and is never attempted again;
// RetryOutbox refuses it; a bad expire_at is refused with nothing written.
import { afterAll, beforeAll, expect, test, vi } from "vitest";
import { Code } from "@connectrpc/connect";
import { timestampFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import { OutboxEventKind } from "../../gen/email/v1/email_service_pb.js";
import { OutboxStatus } from "../../gen/email/v1/outbox_pb.js";
import { waitForOutcome } from "../../src/client/client.js";
import { startSmtpSink, type Reply, type SmtpSink } from "../helpers/smtp-sink.js";
import { sinkAccount, startTestApp, type TestApp } from "../helpers/app.js";
import { ManualClock } from "../helpers/clock.js";
import { emailClient, type EmailClient } from "../helpers/clients.js";
import { refusal } from "../helpers/refusal.js";
import { countRows } from "../helpers/tables.js";
import { startReceiver, type Receiver } from "../helpers/webhook-receiver.js";

const T0 = 1_767_225_600_000;
const SECOND = 1000;
const DAY = 24 * 3600 * SECOND;
const SECRET = `whsec_${Buffer.alloc(24, 7).toString("base64")}`;
const clock = new ManualClock(T0);
/** What the sink answers to DATA; undefined accepts. */
let dataReply: Reply | undefined;
/** The subject of every DATA the sink saw, accepted or not. */
const attempts: string[] = [];
/** While set, DATA of this subject is answered only once `gate` resolves. */
let hold: { subject: string; reached: () => void; gate: Promise<void> } | undefined;
let sink: SmtpSink;
let receiver: Receiver;
let t: TestApp;
let client: EmailClient;

beforeAll(async () => {
  sink = await startSmtpSink({
    script: async (stage, ctx) => {
      if (stage !== "data") return undefined;
      const subject = /^Subject: (.*)$/m.exec(ctx.raw!.toString())?.[1] ?? "";
      attempts.push(subject);
      if (hold?.subject === subject) {
        hold.reached();
        await hold.gate;
      }
      return dataReply;
    },
  });
  receiver = await startReceiver();
  t = await startTestApp({
    label: "api_expire_at",
    clock,
    env: { HOOK_SECRET: SECRET },
    json: {
      accounts: [
        { ...sinkAccount(1, sink.port), webhooks: [{ id: "hook", url: receiver.url, secret_env: "HOOK_SECRET", events: ["expired"] }] },
        // One start, then the next an hour later: a second message waits in the queue.
        { ...sinkAccount(2, sink.port), rate_limit: { max_per_second: 1 / 3600, burst: 1 } },
        // One connection: a second message handed to the sender waits for it.
        sinkAccount(3, sink.port, { max_connections: 1 }),
      ],
      // Only the test's own calls and wakes drive attempts.
      sender: { poll_interval_ms: 3_600_000 },
      watch: { poll_interval_ms: 50 },
    },
  });
  client = emailClient(t.url);
});
afterAll(async () => {
  await t?.close();
  await receiver?.close();
  await sink?.close();
});

const message = (subject: string, accountId = 1) => ({ accountId, to: ["bob@example.com"], subject, bodyText: "Your code is 123456" });
const at = (ms: number) => timestampFromMs(ms);

async function status(id: bigint): Promise<OutboxStatus> {
  return (await client.getOutbox({ outboxId: id })).outbox!.status;
}

async function eventKinds(id: bigint): Promise<OutboxEventKind[]> {
  return (await client.getOutboxMessage({ outboxId: id })).events.map((e) => e.kind);
}

/** Wakes the sender until the row is EXPIRED (a wake during a claim under way runs once more after it). */
async function expired(id: bigint): Promise<void> {
  await vi.waitFor(
    async () => {
      t.app.sender.wake();
      expect(await status(id)).toBe(OutboxStatus.EXPIRED);
    },
    { timeout: 10_000, interval: 50 },
  );
}

test("a bad expire_at is INVALID_ARGUMENT EXPIRE_AT_INVALID, on Send, SendBatch and Reply, and writes nothing", async () => {
  clock.set(T0);
  const cases = [
    { expireAt: at(T0 - SECOND) },
    { expireAt: at(T0) },
    { expireAt: at(T0 + 30 * DAY + 1) },
    // Before its own send_at.
    { sendAt: at(T0 + 3600 * SECOND), expireAt: at(T0 + 1800 * SECOND) },
    // More than 30 days after its send_at.
    { sendAt: at(T0 + 3600 * SECOND), expireAt: at(T0 + 3600 * SECOND + 30 * DAY + 1) },
  ];
  for (const c of cases) {
    const r = await refusal(client.send({ ...message("bad"), ...c }));
    expect({ code: r.code, reason: r.reason, fields: r.fields }).toEqual({
      code: Code.InvalidArgument,
      reason: "EXPIRE_AT_INVALID",
      fields: ["expire_at"],
    });
  }
  const reply = await refusal(
    client.reply({ accountId: 1, inReplyToMessageId: "<parent@example.com>", bodyText: "x", expireAt: at(T0 - 1) }),
  );
  expect({ code: reply.code, reason: reply.reason }).toEqual({ code: Code.InvalidArgument, reason: "EXPIRE_AT_INVALID" });
  const batch = await client.sendBatch({ messages: [{ ...message("bad"), expireAt: at(T0 - 1) }] });
  expect(batch.results[0]!.result).toMatchObject({ case: "error", value: { code: Code.InvalidArgument } });
  expect(await countRows(t.db.url)).toEqual({ outbox: 0, events: 0 });
});

test("an expiry 30 days after send_at is accepted; wait_for_attempt with expire_at returns the attempt's outcome", async () => {
  clock.set(T0);
  dataReply = undefined;
  const res = (await client.send({ ...message("in time"), expireAt: at(T0 + 30 * DAY), waitForAttempt: true })).outbox!;
  expect(res.status).toBe(OutboxStatus.SENT);
  expect(timestampMs(res.expireAt!)).toBe(T0 + 30 * DAY);
  const scheduled = (await client.send({ ...message("later"), sendAt: at(T0 + 40 * DAY), expireAt: at(T0 + 70 * DAY) })).outbox!;
  expect(timestampMs((await client.getOutbox({ outboxId: scheduled.outboxId })).outbox!.expireAt!)).toBe(T0 + 70 * DAY);
  await client.cancelOutbox({ outboxId: scheduled.outboxId });
});

test("a message whose expire_at passes while it waits for a retry ends EXPIRED, with its event and webhook, and is not attempted again", async () => {
  clock.set(T0 + 100 * SECOND);
  dataReply = { code: 451, message: "4.3.0 Try again later" };
  const failed = (await client.send({ ...message("one-time code"), expireAt: at(T0 + 105 * SECOND), waitForAttempt: true })).outbox!;
  expect(failed).toMatchObject({ status: OutboxStatus.FAILED, retries: 1 });
  expect(timestampMs(failed.nextAttemptAt!)).toBe(T0 + 110 * SECOND);
  const id = failed.outboxId;

  // It expires before its retry is due: the row falls due at its expiry, and the claim expires it.
  clock.set(T0 + 106 * SECOND);
  await expired(id);
  expect(await eventKinds(id)).toEqual([OutboxEventKind.CREATED, OutboxEventKind.SENDING, OutboxEventKind.FAILED, OutboxEventKind.EXPIRED]);
  const row = (await client.getOutbox({ outboxId: id })).outbox!;
  expect(row).toMatchObject({ status: OutboxStatus.EXPIRED, retries: 1, lastErrorClass: "SMTP_TRANSIENT" });
  expect(row.nextAttemptAt).toBeUndefined();
  // The client's waitForOutcome settles on it.
  expect((await waitForOutcome(client, id, { signal: AbortSignal.timeout(10_000) })).status).toBe(OutboxStatus.EXPIRED);

  // Its webhook: the EXPIRED event, as WatchOutbox streams it.
  await vi.waitFor(() => expect(receiver.received.length).toBeGreaterThan(0), { timeout: 15_000, interval: 50 });
  const body = JSON.parse(receiver.received[0]!.body) as { type: string; data: Record<string, unknown> };
  expect(body).toMatchObject({
    type: "outbox.expired",
    data: { outboxId: String(id), kind: "OUTBOX_EVENT_KIND_EXPIRED", status: "OUTBOX_STATUS_EXPIRED" },
  });

  // An hour on, a claim runs (it takes a message scheduled for then) and attempts only that one.
  dataReply = undefined;
  attempts.length = 0;
  const later = (await client.send({ ...message("later"), sendAt: at(T0 + 3600 * SECOND) })).outbox!;
  clock.set(T0 + 3600 * SECOND);
  t.app.sender.wake();
  expect((await waitForOutcome(client, later.outboxId, { signal: AbortSignal.timeout(10_000) })).status).toBe(OutboxStatus.SENT);
  expect(attempts).toEqual(["later"]);

  const retry = await refusal(client.retryOutbox({ outboxId: id, force: true }));
  expect(retry).toMatchObject({ code: Code.FailedPrecondition, reason: "RETRY_NOT_ALLOWED_FOR_STATUS" });
});

test("a message whose expire_at passes before its first attempt (its account rate-limited) is EXPIRED without any attempt", async () => {
  clock.set(T0 + 7200 * SECOND);
  dataReply = undefined;
  attempts.length = 0;
  // The account's one start for the hour goes to the first message.
  expect((await client.send({ ...message("first", 2), waitForAttempt: true })).outbox!.status).toBe(OutboxStatus.SENT);
  const queued = (await client.send({ ...message("too late", 2), expireAt: at(T0 + 7230 * SECOND) })).outbox!;
  expect(queued.status).toBe(OutboxStatus.PENDING);
  t.app.sender.wake();
  expect(await status(queued.outboxId)).toBe(OutboxStatus.PENDING);

  clock.set(T0 + 7231 * SECOND);
  await expired(queued.outboxId);
  expect(await eventKinds(queued.outboxId)).toEqual([OutboxEventKind.CREATED, OutboxEventKind.EXPIRED]);
  expect((await client.getOutbox({ outboxId: queued.outboxId })).outbox).toMatchObject({ retries: 0, messageId: "" });
  expect(attempts).toEqual(["first"]);
});

test("a message that expires while it waits for its account's one connection is handed back unstarted and EXPIRED", async () => {
  clock.set(T0 + 8000 * SECOND);
  dataReply = undefined;
  attempts.length = 0;
  let reached!: () => void;
  let release!: () => void;
  const atData = new Promise<void>((r) => (reached = r));
  hold = { subject: "occupying", reached, gate: new Promise<void>((r) => (release = r)) };
  try {
    const occupying = (await client.send(message("occupying", 3))).outbox!;
    await atData;
    const waiting = (await client.send({ ...message("waits for a connection", 3), expireAt: at(T0 + 8030 * SECOND) })).outbox!;
    expect(waiting.status).toBe(OutboxStatus.SENDING);
    clock.set(T0 + 8031 * SECOND);
    release();
    expect(await waitForOutcome(client, occupying.outboxId, { signal: AbortSignal.timeout(10_000) })).toMatchObject({
      status: OutboxStatus.SENT,
    });
    await expired(waiting.outboxId);
    expect(await eventKinds(waiting.outboxId)).toEqual([
      OutboxEventKind.CREATED,
      OutboxEventKind.SENDING,
      OutboxEventKind.RELEASED,
      OutboxEventKind.EXPIRED,
    ]);
    expect(attempts).toEqual(["occupying"]);
  } finally {
    hold = undefined;
    release?.();
  }
});

test("RetryOutbox of a DEAD message past its expiry is FAILED_PRECONDITION MESSAGE_EXPIRED", async () => {
  clock.set(T0 + 10_000 * SECOND);
  dataReply = { code: 550, message: "5.7.1 Rejected" };
  const dead = (await client.send({ ...message("rejected"), expireAt: at(T0 + 10_060 * SECOND), waitForAttempt: true })).outbox!;
  expect(dead.status).toBe(OutboxStatus.DEAD);
  dataReply = undefined;
  clock.set(T0 + 10_061 * SECOND);
  const r = await refusal(client.retryOutbox({ outboxId: dead.outboxId }));
  expect(r).toMatchObject({
    code: Code.FailedPrecondition,
    reason: "MESSAGE_EXPIRED",
    metadata: { expire_at: new Date(T0 + 10_060 * SECOND).toISOString() },
  });
  expect(await status(dead.outboxId)).toBe(OutboxStatus.DEAD);
});
