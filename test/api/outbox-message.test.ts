// GetOutboxMessage (one row with its headers, bodies, attachment names and event timeline) and
// GetOutboxActivity (sent and failed per minute), over a real client with API keys: a key sees
// only its accounts' rows and counts, and nothing secret comes back.
import { afterAll, beforeAll, expect, test } from "vitest";
import mysql from "mysql2/promise";
import { toJsonString } from "@bufbuild/protobuf";
import { timestampFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { EmailService, GetOutboxMessageResponseSchema, OutboxEventKind } from "../../gen/email/v1/email_service_pb.js";
import { FailureMode, OutboxStatus } from "../../gen/email/v1/outbox_pb.js";
import { OUTCOME_COUNTS_SQL, OUTCOMES } from "../../src/outbox/activity.js";
import { MAX_BODY_RETURNED } from "../../src/api/handlers/outbox-detail.js";
import { sinkAccount, startTestApp, type TestApp } from "../helpers/app.js";
import { refusal } from "../helpers/refusal.js";
import { startSmtpSink, type SmtpSink } from "../helpers/smtp-sink.js";
import { keyedClient, testKey } from "../security/keys.js";

const DOMAIN = "detail.test";
const PASSWORD = "Sink-Pw-Echoed-Back-9xQ";
const admin = testKey("admin", "*");
const reader = testKey("reader", [1], ["read"]);
const otherAccount = testKey("other", [2], ["read"]);
const noRead = testKey("no-read", [1], ["send", "retry", "cancel", "watch"]);

let sink: SmtpSink;
let t: TestApp;
let detailId: bigint;
/** The first DATA of the "Detail" message is refused with the password echoed back. */
let refusedOnce = false;

beforeAll(async () => {
  sink = await startSmtpSink({
    auth: { user: "real", password: PASSWORD },
    script: (stage, ctx) => {
      if (stage !== "data" || refusedOnce || !ctx.raw?.toString().includes("X-Outbox-ID")) return undefined;
      refusedOnce = true;
      return { code: 451, message: `4.3.0 try later, real:${PASSWORD}` };
    },
  });
  t = await startTestApp({
    label: "api_outbox_message",
    json: {
      accounts: [1, 2].map((id) => sinkAccount(id, sink.port, { user: "real", auth: { password: PASSWORD } })),
      api_keys: [admin, reader, otherAccount, noRead].map((k) => k.entry),
      message_id_domain: DOMAIN,
      allow_failure_mode: true,
    },
  });
  const client = as(admin.key);
  const sent = await client.send({
    accountId: 1,
    to: ["Bob <bob@example.com>"],
    cc: ["carol@example.com"],
    bcc: ["hidden@example.com"],
    replyTo: "help@example.com",
    subject: "Détail ✓",
    bodyText: "Plain body",
    bodyHtml: "<p>Hi <b>Bob</b></p><script>alert(1)</script>",
    attachments: [
      { filename: "report.pdf", contentType: "application/pdf", content: Buffer.from("%PDF-1.4 tiny") },
      { filename: "logo.png", contentType: "image/png", contentId: "logo@x", content: Buffer.alloc(300, 1) },
    ],
    waitForAttempt: true,
  });
  expect(sent.outbox?.status).toBe(OutboxStatus.FAILED);
  detailId = sent.outbox!.outboxId;
  expect((await client.retryOutbox({ outboxId: detailId, force: true })).outbox?.status).toBe(OutboxStatus.SENT);
  // Account 2: one permanent failure.
  const dead = await client.send({
    accountId: 2,
    to: ["x@example.com"],
    subject: "s",
    bodyText: "b",
    failureMode: FailureMode.PROVIDER,
    waitForAttempt: true,
  });
  expect(dead.outbox?.status).toBe(OutboxStatus.DEAD);
});
afterAll(async () => {
  await t?.close();
  await sink?.close();
});

const as = (key: string) => keyedClient(EmailService, t.url, key);

test("GetOutboxMessage returns From, recipients, the headers as sent, both bodies, the attachments and the timeline", async () => {
  const d = await as(reader.key).getOutboxMessage({ outboxId: detailId });
  expect(d.outbox).toMatchObject({
    outboxId: detailId,
    status: OutboxStatus.SENT,
    to: [`"Bob" <bob@example.com>`],
    cc: ["carol@example.com"],
    subject: "Détail ✓",
  });
  expect(d).toMatchObject({
    fromAddress: "Account 1 <sender1@example.com>",
    replyTo: "help@example.com",
    bodyText: "Plain body",
    bodyTextTruncated: false,
    bodyHtml: "<p>Hi <b>Bob</b></p><script>alert(1)</script>",
    bodyHtmlTruncated: false,
    eventsTruncated: false,
  });
  expect(d.attachments.map((a) => [a.filename, a.contentType, a.contentId, a.sizeBytes])).toEqual([
    ["report.pdf", "application/pdf", "", 13n],
    ["logo.png", "image/png", "logo@x", 300n],
  ]);

  // The header block is the one the SMTP server received for the accepted attempt, but for the
  // MIME boundary (chosen per attempt); Bcc is not in it.
  const received = sink.messages.find((m) => m.raw.toString().includes(`Message-ID: <outbox-${detailId}-1@${DOMAIN}>`))!;
  const boundary = (s: string) => s.replace(/boundary="[^"]*"/, 'boundary="…"');
  expect(boundary(d.headers)).toBe(boundary(received.raw.toString().split("\r\n\r\n")[0]!));
  expect(d.headers).not.toMatch(/^bcc:|hidden@example\.com/im);

  // Every state change, oldest first, the failed attempt with its (redacted) error.
  expect(d.events.map((e) => OutboxEventKind[e.kind])).toEqual(["CREATED", "SENDING", "FAILED", "RETRIED", "SENT"]);
  expect(d.events.map((e) => e.eventId)).toEqual([...d.events.map((e) => e.eventId)].sort((a, b) => (a < b ? -1 : 1)));
  const failed = d.events.find((e) => e.kind === OutboxEventKind.FAILED)!;
  expect(failed.error).toMatch(/^451 4\.3\.0 try later, real:\[redacted\]/);
  expect(failed.messageId).toBe(`<outbox-${detailId}-0@${DOMAIN}>`);
  // Nothing secret anywhere in the answer: the echoed password, the account's SMTP settings.
  const json = toJsonString(GetOutboxMessageResponseSchema, d);
  expect(json).not.toContain(PASSWORD);
  expect(json).not.toContain(String(sink.port));
});

test("bodies are cut at 1 MiB on a character boundary; a row not yet attempted shows its next Message-ID", async () => {
  const body = `${"a".repeat(MAX_BODY_RETURNED - 1)}é and more`;
  const { outbox } = await as(admin.key).send({
    accountId: 1,
    to: ["bob@example.com"],
    subject: "Big",
    bodyText: body,
    bodyHtml: `<p>${body}</p>`,
    sendAt: timestampFromMs(Date.now() + 3_600_000),
  });
  const d = await as(reader.key).getOutboxMessage({ outboxId: outbox!.outboxId });
  expect(d.bodyText).toBe("a".repeat(MAX_BODY_RETURNED - 1));
  expect(d.bodyTextTruncated).toBe(true);
  expect(Buffer.byteLength(d.bodyHtml)).toBeLessThanOrEqual(MAX_BODY_RETURNED);
  expect(d.bodyHtmlTruncated).toBe(true);
  expect(d.headers).toContain(`Message-ID: <outbox-${outbox!.outboxId}-0@${DOMAIN}>`);
  expect(d.events.map((e) => OutboxEventKind[e.kind])).toEqual(["SCHEDULED"]);
});

test("GetOutboxMessage: another account's row is NOT_FOUND, a key without read is refused, a bad id is INVALID_ARGUMENT", async () => {
  expect(await refusal(as(otherAccount.key).getOutboxMessage({ outboxId: detailId }))).toMatchObject({
    code: Code.NotFound,
    reason: "OUTBOX_NOT_FOUND",
  });
  expect(await refusal(as(noRead.key).getOutboxMessage({ outboxId: detailId }))).toMatchObject({
    code: Code.PermissionDenied,
    reason: "SCOPE_NOT_ALLOWED",
  });
  expect(await refusal(as(admin.key).getOutboxMessage({ outboxId: 999_999n }))).toMatchObject({
    code: Code.NotFound,
    reason: "OUTBOX_NOT_FOUND",
  });
  expect(await refusal(as(admin.key).getOutboxMessage({ outboxId: 0n }))).toMatchObject({
    code: Code.InvalidArgument,
    reason: "OUTBOX_ID_INVALID",
  });
});

test("GetOutboxActivity: 60 whole minutes, sent and failed counted for the caller's accounts only", async () => {
  const total = async (key: string, accountId = 0) => {
    const { minutes } = await as(key).getOutboxActivity({ accountId });
    expect(minutes).toHaveLength(60);
    const starts = minutes.map((m) => timestampMs(m.startTime!));
    expect(starts.every((s, i) => s % 60_000 === 0 && (i === 0 || s - starts[i - 1]! === 60_000))).toBe(true);
    expect(starts[59]).toBeLessThanOrEqual(Date.now());
    return minutes.reduce((sum, m) => ({ sent: sum.sent + m.sent, failed: sum.failed + m.failed }), { sent: 0, failed: 0 });
  };
  expect(await total(admin.key)).toEqual({ sent: 1, failed: 2 });
  expect(await total(admin.key, 2)).toEqual({ sent: 0, failed: 1 });
  expect(await total(reader.key)).toEqual({ sent: 1, failed: 1 });
  expect(await total(otherAccount.key)).toEqual({ sent: 0, failed: 1 });
  expect(await refusal(as(otherAccount.key).getOutboxActivity({ accountId: 1 }))).toMatchObject({
    code: Code.PermissionDenied,
    reason: "ACCOUNT_NOT_ALLOWED",
  });
  expect(await refusal(as(noRead.key).getOutboxActivity({}))).toMatchObject({ code: Code.PermissionDenied, reason: "SCOPE_NOT_ALLOWED" });
});

test("the activity query reads only idx_outbox_event_outcome", async () => {
  const conn = await mysql.createConnection({ uri: t.db.url });
  try {
    await conn.query("ANALYZE TABLE outbox_event");
    const [plan] = (await conn.query(`EXPLAIN ${OUTCOME_COUNTS_SQL}`, [OUTCOMES, Date.now() - 3_600_000])) as unknown as [
      Record<string, unknown>[],
    ];
    expect(plan).toHaveLength(1);
    expect(plan[0]).toMatchObject({ table: "outbox_event", key: "idx_outbox_event_outcome", type: "range" });
    expect(String(plan[0]!.Extra)).toMatch(/Using index/);
  } finally {
    await conn.end();
  }
});
