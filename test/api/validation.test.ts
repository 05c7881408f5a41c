// Every request that can never be sent is refused before anything is written: the right gRPC
// code, ErrorInfo reason and BadRequest field, and still no outbox or event row.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { Code } from "@connectrpc/connect";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { ReplyRequestSchema, SendRequestSchema } from "../../gen/email/v1/email_service_pb.js";
import { FailureMode, OutboxStatus } from "../../gen/email/v1/outbox_pb.js";
import { startSmtpSink, type SmtpSink } from "../helpers/smtp-sink.js";
import { sinkAccount, startTestApp, type TestApp } from "../helpers/app.js";
import { emailClient, type EmailClient } from "../helpers/clients.js";
import { refusal } from "../helpers/refusal.js";
import { countRows } from "../helpers/tables.js";

type SendInit = MessageInitShape<typeof SendRequestSchema>;
type ReplyInit = MessageInitShape<typeof ReplyRequestSchema>;

let sink: SmtpSink;
let t: TestApp;
let client: EmailClient;

beforeAll(async () => {
  sink = await startSmtpSink();
  t = await startTestApp({ label: "api_validation", json: { accounts: [sinkAccount(1, sink.port)] } });
  client = emailClient(t.url);
});
afterAll(async () => {
  await t?.close();
  await sink?.close();
});

const GOOD: SendInit = { accountId: 1, to: ["Bob <bob@example.com>"], subject: "Hello", bodyText: "Body" };
const EMPTY = "to/subject/body_text cannot be empty";
const addresses = (n: number, tag: string) => Array.from({ length: n }, (_, i) => `${tag}${i}@example.com`);
const TWO_YEARS_MS = 2 * 365 * 24 * 3600_000;

interface Case<T> {
  name: string;
  req: T;
  code?: Code;
  reason: string;
  /** The first BadRequest field; undefined when the refusal carries no BadRequest. */
  field?: string;
  message?: string;
}

const sendCases: Case<SendInit>[] = [
  { name: "no to", req: { ...GOOD, to: [] }, reason: "REQUIRED_FIELD_EMPTY", field: "to", message: EMPTY },
  { name: "blank to", req: { ...GOOD, to: ["  "] }, reason: "REQUIRED_FIELD_EMPTY", field: "to", message: EMPTY },
  { name: "blank subject", req: { ...GOOD, subject: " \t" }, reason: "REQUIRED_FIELD_EMPTY", field: "subject", message: EMPTY },
  { name: "empty body_text", req: { ...GOOD, bodyText: "" }, reason: "REQUIRED_FIELD_EMPTY", field: "body_text", message: EMPTY },
  { name: "invalid to", req: { ...GOOD, to: ["bob@example.com", "not-an-address"] }, reason: "ADDRESS_INVALID", field: "to[1]" },
  { name: "invalid cc", req: { ...GOOD, cc: ["a@b@example.com"] }, reason: "ADDRESS_INVALID", field: "cc[0]" },
  { name: "invalid bcc", req: { ...GOOD, bcc: ["Carol <carol@>"] }, reason: "ADDRESS_INVALID", field: "bcc[0]" },
  { name: "invalid reply_to", req: { ...GOOD, replyTo: "reply at example.com" }, reason: "ADDRESS_INVALID", field: "reply_to" },
  { name: "CR LF in subject", req: { ...GOOD, subject: "Hi\r\nBcc: eve@evil.test" }, reason: "HEADER_INJECTION", field: "subject" },
  { name: "LF in subject", req: { ...GOOD, subject: "Hi\nthere" }, reason: "HEADER_INJECTION", field: "subject" },
  { name: "NUL in subject", req: { ...GOOD, subject: "Hi\0there" }, reason: "HEADER_INJECTION", field: "subject" },
  {
    name: "CR LF in a display name",
    req: { ...GOOD, to: ["Bob\r\nBcc: eve@evil.test <bob@example.com>"] },
    reason: "HEADER_INJECTION",
    field: "to[0]",
  },
  { name: "LF in a cc display name", req: { ...GOOD, cc: ["Carol\n <carol@example.com>"] }, reason: "HEADER_INJECTION", field: "cc[0]" },
  {
    name: "NUL in a reply_to display name",
    req: { ...GOOD, replyTo: "R\0 <r@example.com>" },
    reason: "HEADER_INJECTION",
    field: "reply_to",
  },
  {
    name: "51 recipients in all",
    req: { ...GOOD, to: addresses(20, "to"), cc: addresses(20, "cc"), bcc: addresses(11, "bcc") },
    reason: "TOO_MANY_RECIPIENTS",
    field: "to",
  },
  { name: "999-byte subject", req: { ...GOOD, subject: "x".repeat(999) }, reason: "SUBJECT_TOO_LONG", field: "subject" },
  { name: "1000-byte multibyte subject", req: { ...GOOD, subject: `${"你".repeat(333)}x` }, reason: "SUBJECT_TOO_LONG", field: "subject" },
  { name: "unknown account", req: { ...GOOD, accountId: 99 }, code: Code.NotFound, reason: "ACCOUNT_NOT_FOUND" },
  {
    name: "send_at two years ahead",
    req: { ...GOOD, sendAt: timestampFromMs(Date.now() + TWO_YEARS_MS) },
    reason: "SEND_AT_OUT_OF_RANGE",
    field: "send_at",
  },
  {
    name: "257-char idempotency_key",
    req: { ...GOOD, idempotencyKey: "k".repeat(257) },
    reason: "IDEMPOTENCY_KEY_INVALID",
    field: "idempotency_key",
  },
  {
    name: "idempotency_key with LF",
    req: { ...GOOD, idempotencyKey: "key\nmore" },
    reason: "IDEMPOTENCY_KEY_INVALID",
    field: "idempotency_key",
  },
  {
    name: "idempotency_key with DEL",
    req: { ...GOOD, idempotencyKey: "key\x7f" },
    reason: "IDEMPOTENCY_KEY_INVALID",
    field: "idempotency_key",
  },
  {
    name: "failure_mode not allowed",
    req: { ...GOOD, failureMode: FailureMode.NETWORK },
    code: Code.FailedPrecondition,
    reason: "FAILURE_MODE_NOT_ALLOWED",
  },
  {
    name: "an attachment of a type not allowed",
    req: { ...GOOD, attachments: [{ filename: "a.html", contentType: "text/html", content: new Uint8Array([104, 105]) }] },
    reason: "ATTACHMENT_CONTENT_TYPE_NOT_ALLOWED",
    field: "attachments[0].content_type",
  },
];

const REPLY: ReplyInit = { accountId: 1, inReplyToMessageId: "<parent@example.com>", bodyText: "Thanks" };
const REPLY_EMPTY = "in_reply_to_message_id/body_text cannot be empty";

const replyCases: Case<ReplyInit>[] = [
  {
    name: "empty in_reply_to_message_id",
    req: { ...REPLY, inReplyToMessageId: "" },
    reason: "REQUIRED_FIELD_EMPTY",
    field: "in_reply_to_message_id",
    message: REPLY_EMPTY,
  },
  { name: "blank body_text", req: { ...REPLY, bodyText: "   " }, reason: "REQUIRED_FIELD_EMPTY", field: "body_text", message: REPLY_EMPTY },
  { name: "unknown account", req: { ...REPLY, accountId: 7 }, code: Code.NotFound, reason: "ACCOUNT_NOT_FOUND" },
  {
    name: "unknown parent",
    req: REPLY,
    code: Code.NotFound,
    reason: "PARENT_NOT_FOUND",
    message: "in_reply_to_message_id does not exist for this account",
  },
  {
    name: "257-char idempotency_key",
    req: { ...REPLY, idempotencyKey: "k".repeat(257) },
    reason: "IDEMPOTENCY_KEY_INVALID",
    field: "idempotency_key",
  },
  {
    name: "send_at two years ahead",
    req: { ...REPLY, sendAt: timestampFromMs(Date.now() + TWO_YEARS_MS) },
    reason: "SEND_AT_OUT_OF_RANGE",
    field: "send_at",
  },
  {
    name: "failure_mode not allowed",
    req: { ...REPLY, failureMode: FailureMode.PROVIDER },
    code: Code.FailedPrecondition,
    reason: "FAILURE_MODE_NOT_ALLOWED",
  },
  {
    name: "an attachment with neither content nor path",
    req: { ...REPLY, attachments: [{ filename: "a.pdf", contentType: "application/pdf" }] },
    reason: "ATTACHMENT_SOURCE_INVALID",
    field: "attachments[0]",
  },
];

async function expectRefused(call: Promise<unknown>, c: Case<unknown>): Promise<void> {
  const r = await refusal(call);
  expect({ code: r.code, reason: r.reason, field: r.fields[0] }).toEqual({
    code: c.code ?? Code.InvalidArgument,
    reason: c.reason,
    field: c.field,
  });
  if (c.message) expect(r.message).toBe(c.message);
}

describe("refused with no row written", () => {
  afterEach(async () => {
    expect(await countRows(t.db.url)).toEqual({ outbox: 0, events: 0 });
  });
  test.each(sendCases)("Send: $name", (c) => expectRefused(client.send(c.req), c));
  test.each(replyCases)("Reply: $name", (c) => expectRefused(client.reply(c.req), c));

  test("RetryOutbox: failure_mode not allowed", async () => {
    const r = await refusal(client.retryOutbox({ outboxId: 1n, failureMode: FailureMode.NETWORK }));
    expect(r).toMatchObject({ code: Code.FailedPrecondition, reason: "FAILURE_MODE_NOT_ALLOWED" });
  });

  test("every violation of one request is listed, the first one in ErrorInfo", async () => {
    const r = await refusal(client.send({ ...GOOD, to: ["bad"], cc: ["also bad"], subject: "a\rb" }));
    expect(r.reason).toBe("ADDRESS_INVALID");
    expect(r.metadata).toEqual({ field: "to[0]" });
    expect(r.fields).toEqual(["to[0]", "cc[0]", "subject"]);
  });
});

test("a 998-byte multibyte subject is accepted and arrives intact", async () => {
  const subject = `${"你".repeat(332)}ab`;
  expect(Buffer.byteLength(subject)).toBe(998);
  const res = await client.send({ ...GOOD, subject, waitForAttempt: true });
  expect(res.outbox?.status).toBe(OutboxStatus.SENT);
  const [msg] = await sink.waitFor(1);
  expect(msg!.parsed.subject).toBe(subject);
  expect(await countRows(t.db.url)).toMatchObject({ outbox: 1 });
});
