// The hostile corpus: requests that must be refused with an exact code and reason, leave every
// table as it was, and leave the server healthy. Typed cases go through the generated clients
// (over gRPC and over Connect JSON); raw cases send bytes and headers no generated client would.
import { create, toBinary } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { GetOutboxRequestSchema, ListOutboxRequestSchema, SendRequestSchema } from "../../gen/email/v1/email_service_pb.js";
import { grpcFrame } from "./raw.js";

/**
 * What must come back. `reason` is the google.rpc.ErrorInfo reason; protocol errors raised by
 * the Connect runtime before any service code runs carry none (undefined), so their message is
 * pinned instead. `http` is for answers that are not RPC errors at all (wrong content type).
 */
export type Expected = { code: Code; reason: string | undefined; field?: string; message?: RegExp } | { http: number };

export type RpcName =
  | "Send"
  | "Reply"
  | "RetryOutbox"
  | "CancelOutbox"
  | "GetOutbox"
  | "ListOutbox"
  | "WatchOutbox"
  | "IngestMessage"
  | "GetMessage"
  | "ListMessages";

export interface TypedCase {
  name: string;
  rpc: RpcName;
  request: Record<string, unknown>;
  expect: Expected;
}

export interface RawCase {
  name: string;
  /** "connect": HTTP/1.1 POST (JSON unless the headers say otherwise); "grpc": HTTP/2 gRPC. */
  protocol: "connect" | "grpc";
  /** "Service/Method" under email.v1. */
  method: string;
  body: string | Uint8Array;
  /** Replace the defaults (content type, key); `authorization: undefined` sends none. */
  headers?: Record<string, string | undefined>;
  expect: Expected;
}

const invalid = (reason: string, field?: string): Expected => ({ code: Code.InvalidArgument, reason, field });
const protocolError = (code: Code, message: RegExp): Expected => ({ code, reason: undefined, message });
const injection = (field: string) => invalid("HEADER_INJECTION", field);

const SEND = { accountId: 1, to: ["bob@example.com"], subject: "hello", bodyText: "body" };
const send = (name: string, patch: Record<string, unknown>, expect: Expected): TypedCase => ({
  name,
  rpc: "Send",
  request: { ...SEND, ...patch },
  expect,
});
const to = (name: string, address: string, expect: Expected) => send(name, { to: [address] }, expect);
const attachment = (patch: Record<string, unknown>) => ({
  filename: "a.txt",
  contentType: "text/plain",
  content: Buffer.from("x"),
  ...patch,
});

const MB = 1024 * 1024;
const U64_MAX = 2n ** 64n - 1n;

export const TYPED: TypedCase[] = [
  // CR, LF, NUL and other controls in every header-bearing field.
  send("CRLF in subject", { subject: "Hi\r\nBcc: evil@example.net" }, injection("subject")),
  send("LF in subject", { subject: "Hi\nBcc: evil@example.net" }, injection("subject")),
  send("CR in subject", { subject: "Hi\rthere" }, injection("subject")),
  send("NUL in subject", { subject: "Hi\0there" }, injection("subject")),
  send("ESC in subject", { subject: "Hi\x1b[31m" }, injection("subject")),
  to("CRLF in a display name", "Bob\r\nBcc: evil@example.net <bob@example.com>", injection("to[0]")),
  to("LF in a quoted display name", '"Bob\nBcc: evil@example.net" <bob@example.com>', injection("to[0]")),
  to("NUL in a display name", "Bob\0 <bob@example.com>", injection("to[0]")),
  send("CRLF in a custom header value", { headers: { "X-Campaign": "a\r\nBcc: evil@example.net" } }, injection("headers[X-Campaign]")),
  send(
    "LF in a custom header value",
    { headers: { "List-Unsubscribe": "<https://x.example>\nBcc: evil@example.net" } },
    injection("headers[List-Unsubscribe]"),
  ),
  send("CRLF in a custom header name", { headers: { "X-A\r\nBcc": "evil@example.net" } }, invalid("HEADER_NAME_INVALID", "headers")),
  send("Bcc through custom headers", { headers: { bcc: "evil@example.net" } }, invalid("HEADER_NOT_ALLOWED", "headers[bcc]")),
  send("CRLF in from", { from: "sender1@example.com\r\nBcc: evil@example.net" }, injection("from")),
  send("a from outside allowed_from", { from: "ceo@bank.example" }, invalid("FROM_NOT_ALLOWED", "from")),
  to("CRLF after the address (SMTP command smuggling)", "bob@example.com\r\nRCPT TO:<evil@example.net>", injection("to[0]")),
  to("DEL in an address", "bo\x7fb@example.com", injection("to[0]")),
  to("U+2028 line separator in a display name", "Bob\u2028Bcc: x <bob@example.com>", injection("to[0]")),
  to("C1 control (NEL) in a display name", "Bob\u0085 <bob@example.com>", injection("to[0]")),
  send("CRLF in a cc display name", { cc: ["Carol\r\n <carol@example.com>"] }, injection("cc[0]")),
  send("LF in a bcc address", { bcc: ["dave@example.com\n"] }, injection("bcc[0]")),
  send("NUL in a bcc display name", { bcc: ['"D\0" <dave@example.com>'] }, injection("bcc[0]")),
  send("CRLF in reply_to", { replyTo: "Eve\r\nX-Evil: 1 <eve@example.com>" }, injection("reply_to")),
  send("CRLF in an idempotency key", { idempotencyKey: "key\r\nX: y" }, invalid("IDEMPOTENCY_KEY_INVALID", "idempotency_key")),
  send("NUL in an idempotency key", { idempotencyKey: "key\0" }, invalid("IDEMPOTENCY_KEY_INVALID", "idempotency_key")),
  send("LF in an idempotency key", { idempotencyKey: "\n" }, invalid("IDEMPOTENCY_KEY_INVALID", "idempotency_key")),
  send(
    "CRLF in an attachment filename",
    { attachments: [attachment({ filename: "a.txt\r\nContent-Type: text/html" })] },
    injection("attachments[0].filename"),
  ),
  send("NUL in an attachment filename", { attachments: [attachment({ filename: "a\0.txt" })] }, injection("attachments[0].filename")),
  send("LF in an attachment filename", { attachments: [attachment({ filename: "a\n.txt" })] }, injection("attachments[0].filename")),
  send("NUL in body_text", { bodyText: "a\0b" }, invalid("BODY_INVALID", "body_text")),
  send("NUL in body_html", { bodyHtml: "<p>\0</p>" }, invalid("BODY_INVALID", "body_html")),
  {
    name: "CRLF in in_reply_to_message_id",
    rpc: "Reply",
    request: { accountId: 1, inReplyToMessageId: "<a@b.c>\r\nBcc: evil@example.net", bodyText: "x" },
    expect: invalid("MESSAGE_ID_INVALID", "in_reply_to_message_id"),
  },
  {
    name: "NUL in in_reply_to_message_id",
    rpc: "Reply",
    request: { accountId: 1, inReplyToMessageId: "a\0@b.c", bodyText: "x" },
    expect: invalid("MESSAGE_ID_INVALID", "in_reply_to_message_id"),
  },
  {
    name: "CRLF in a Reply idempotency key",
    rpc: "Reply",
    request: { accountId: 1, inReplyToMessageId: "<a@b.c>", bodyText: "x", idempotencyKey: "k\r\n" },
    expect: invalid("IDEMPOTENCY_KEY_INVALID", "idempotency_key"),
  },

  // Addresses that are not one valid mailbox.
  to("no @", "not-an-address", invalid("ADDRESS_INVALID", "to[0]")),
  to("no local part", "@example.com", invalid("ADDRESS_INVALID", "to[0]")),
  to("no domain", "bob@", invalid("ADDRESS_INVALID", "to[0]")),
  to("two @", "bob@@example.com", invalid("ADDRESS_INVALID", "to[0]")),
  to("dotless domain", "bob@localhost", invalid("ADDRESS_INVALID", "to[0]")),
  to("IP literal", "bob@[127.0.0.1]", invalid("ADDRESS_INVALID", "to[0]")),
  to("IPv4 address as domain", "bob@127.0.0.1", invalid("ADDRESS_INVALID", "to[0]")),
  to("two addresses in one field", "bob@example.com, eve@example.net", invalid("ADDRESS_INVALID", "to[0]")),
  to("space in the domain", "bob@exa mple.com", invalid("ADDRESS_INVALID", "to[0]")),
  to("label starting with a hyphen", "bob@-example.com", invalid("ADDRESS_INVALID", "to[0]")),
  to("empty label", "bob@example..com", invalid("ADDRESS_INVALID", "to[0]")),
  to("non-ASCII local part", "böb@example.com", invalid("ADDRESS_INVALID", "to[0]")),
  to("unterminated angle address", "<bob@example.com", invalid("ADDRESS_INVALID", "to[0]")),
  to("unterminated quoted name", '"Bob <bob@example.com>', invalid("ADDRESS_INVALID", "to[0]")),
  to("group syntax", "undisclosed-recipients:;", invalid("ADDRESS_INVALID", "to[0]")),
  to("comment", "bob@example.com (Bob)", invalid("ADDRESS_INVALID", "to[0]")),
  to("underscore in the domain", "bob@exa_mple.com", invalid("ADDRESS_INVALID", "to[0]")),
  to("percent-encoded domain", "bob@ex%61mple.com", invalid("ADDRESS_INVALID", "to[0]")),
  to("invalid punycode", "bob@xn--a.com", invalid("ADDRESS_INVALID", "to[0]")),
  to("IDN label with a disallowed code point", "bob@exa\u2260mple.com", invalid("ADDRESS_INVALID", "to[0]")),
  to("unquoted special in a display name", "Bob, Jr. <bob@example.com>", invalid("ADDRESS_INVALID", "to[0]")),
  send("empty address beside a valid one", { to: ["bob@example.com", "  "] }, invalid("ADDRESS_EMPTY", "to[1]")),
  send("invalid cc", { cc: ["carol"] }, invalid("ADDRESS_INVALID", "cc[0]")),
  send("invalid bcc", { bcc: ["dave@"] }, invalid("ADDRESS_INVALID", "bcc[0]")),
  send("invalid reply_to", { replyTo: "eve" }, invalid("ADDRESS_INVALID", "reply_to")),

  // Overlong addresses.
  to("local part of 65 octets", `${"a".repeat(65)}@example.com`, invalid("ADDRESS_TOO_LONG", "to[0]")),
  to("domain label of 64 octets", `bob@${"a".repeat(64)}.com`, invalid("ADDRESS_TOO_LONG", "to[0]")),
  to(
    "address of 255 octets",
    `${"a".repeat(64)}@${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(58)}.com`,
    invalid("ADDRESS_TOO_LONG", "to[0]"),
  ),
  to("domain of 300 octets", `bob@${Array(6).fill("c".repeat(49)).join(".")}.com`, invalid("ADDRESS_TOO_LONG", "to[0]")),
  to("a 1 MB display name", `${"N".repeat(MB)} <bob@example.com>`, invalid("ADDRESS_TOO_LONG", "to[0]")),
  to("an IDN domain too long once encoded", `bob@${"ü".repeat(60)}.com`, invalid("ADDRESS_TOO_LONG", "to[0]")),

  // Sizes.
  send("10,000 recipients", { to: Array.from({ length: 10_000 }, (_, i) => `r${i}@example.com`) }, invalid("TOO_MANY_RECIPIENTS", "to")),
  send(
    "51 recipients across to, cc and bcc",
    { to: Array(17).fill("a@example.com"), cc: Array(17).fill("b@example.com"), bcc: Array(17).fill("c@example.com") },
    invalid("TOO_MANY_RECIPIENTS", "to"),
  ),
  send("a 10 MB subject", { subject: "S".repeat(10 * MB) }, invalid("SUBJECT_TOO_LONG", "subject")),
  send("a subject of 999 bytes", { subject: "s".repeat(999) }, invalid("SUBJECT_TOO_LONG", "subject")),
  send("a subject of 333 three-byte characters", { subject: "你".repeat(333) }, invalid("SUBJECT_TOO_LONG", "subject")),
  send("bodies over 10 MiB", { bodyText: "b".repeat(10 * MB), bodyHtml: "<p>" }, invalid("BODY_TOO_LARGE", "body_text")),
  send("an idempotency key of 257 characters", { idempotencyKey: "k".repeat(257) }, invalid("IDEMPOTENCY_KEY_INVALID", "idempotency_key")),
  send("33 attachments", { attachments: Array(33).fill(attachment({})) }, invalid("TOO_MANY_ATTACHMENTS", "attachments")),
  send("blank subject", { subject: " \t " }, invalid("REQUIRED_FIELD_EMPTY", "subject")),
  send("blank body", { bodyText: "\n" }, invalid("REQUIRED_FIELD_EMPTY", "body_text")),
  send("no recipients", { to: [] }, invalid("REQUIRED_FIELD_EMPTY", "to")),
  send("send_at in the year 9999", { sendAt: { seconds: 253402300799n, nanos: 0 } }, invalid("SEND_AT_OUT_OF_RANGE", "send_at")),
  send("send_at at the int64 limit", { sendAt: { seconds: 2n ** 63n - 1n, nanos: 0 } }, invalid("SEND_AT_OUT_OF_RANGE", "send_at")),

  // Unknown enum values (proto3 enums are open: numbers pass the wire, the service refuses them).
  send("failure_mode 99", { failureMode: 99 }, invalid("FAILURE_MODE_INVALID", "failure_mode")),
  send("failure_mode -1", { failureMode: -1 }, invalid("FAILURE_MODE_INVALID", "failure_mode")),
  send(
    "failure_mode when the server does not allow it",
    { failureMode: 1 },
    { code: Code.FailedPrecondition, reason: "FAILURE_MODE_NOT_ALLOWED" },
  ),
  {
    name: "RetryOutbox failure_mode 7",
    rpc: "RetryOutbox",
    request: { outboxId: 1n, failureMode: 7 },
    expect: invalid("FAILURE_MODE_INVALID", "failure_mode"),
  },
  { name: "ListOutbox status 99", rpc: "ListOutbox", request: { statuses: [99] }, expect: invalid("STATUS_INVALID", "statuses") },
  { name: "ListOutbox status -5", rpc: "ListOutbox", request: { statuses: [1, -5] }, expect: invalid("STATUS_INVALID", "statuses") },
  {
    name: "WatchOutbox status 2147483647",
    rpc: "WatchOutbox",
    request: { statuses: [2147483647] },
    expect: invalid("STATUS_INVALID", "statuses"),
  },
  {
    name: "ListMessages direction 42",
    rpc: "ListMessages",
    request: { accountId: 1, direction: 42 },
    expect: invalid("DIRECTION_INVALID", "direction"),
  },

  // Ids: zero, huge, unknown, beyond what an id can be.
  send("account 0", { accountId: 0 }, { code: Code.NotFound, reason: "ACCOUNT_NOT_FOUND" }),
  send("account 4294967295", { accountId: 4294967295 }, { code: Code.NotFound, reason: "ACCOUNT_NOT_FOUND" }),
  { name: "GetOutbox id 0", rpc: "GetOutbox", request: { outboxId: 0n }, expect: invalid("OUTBOX_ID_INVALID", "outbox_id") },
  { name: "GetOutbox id 2^64-1", rpc: "GetOutbox", request: { outboxId: U64_MAX }, expect: invalid("OUTBOX_ID_INVALID", "outbox_id") },
  { name: "GetOutbox id 2^53", rpc: "GetOutbox", request: { outboxId: 2n ** 53n }, expect: invalid("OUTBOX_ID_INVALID", "outbox_id") },
  {
    name: "GetOutbox of an unknown id",
    rpc: "GetOutbox",
    request: { outboxId: 987654321n },
    expect: { code: Code.NotFound, reason: "OUTBOX_NOT_FOUND" },
  },
  { name: "RetryOutbox id 0", rpc: "RetryOutbox", request: { outboxId: 0n }, expect: invalid("OUTBOX_ID_INVALID", "outbox_id") },
  {
    name: "RetryOutbox of an unknown id",
    rpc: "RetryOutbox",
    request: { outboxId: 987654321n, force: true },
    expect: { code: Code.NotFound, reason: "OUTBOX_NOT_FOUND" },
  },
  {
    name: "CancelOutbox id 2^64-1",
    rpc: "CancelOutbox",
    request: { outboxId: U64_MAX },
    expect: invalid("OUTBOX_ID_INVALID", "outbox_id"),
  },
  {
    name: "CancelOutbox of an unknown id",
    rpc: "CancelOutbox",
    request: { outboxId: 987654321n },
    expect: { code: Code.NotFound, reason: "OUTBOX_NOT_FOUND" },
  },
  {
    name: "WatchOutbox outbox id 0",
    rpc: "WatchOutbox",
    request: { outboxIds: [5n, 0n] },
    expect: invalid("OUTBOX_ID_INVALID", "outbox_id"),
  },
  {
    name: "WatchOutbox after event 2^64-1",
    rpc: "WatchOutbox",
    request: { afterEventId: U64_MAX },
    expect: { code: Code.OutOfRange, reason: "EVENT_OUT_OF_RANGE" },
  },
  {
    name: "Reply to an unknown parent",
    rpc: "Reply",
    request: { accountId: 1, inReplyToMessageId: "<nobody@example.com>", bodyText: "x" },
    expect: { code: Code.NotFound, reason: "PARENT_NOT_FOUND" },
  },
  {
    name: "Reply to a 10 KB Message-ID",
    rpc: "Reply",
    request: { accountId: 1, inReplyToMessageId: `<${"a".repeat(10_000)}@b.c>`, bodyText: "x" },
    expect: invalid("MESSAGE_ID_INVALID", "in_reply_to_message_id"),
  },
  {
    name: "Reply with no parent",
    rpc: "Reply",
    request: { accountId: 1, bodyText: "x" },
    expect: invalid("REQUIRED_FIELD_EMPTY", "in_reply_to_message_id"),
  },

  // Paging.
  { name: "page_size 501", rpc: "ListOutbox", request: { pageSize: 501 }, expect: invalid("LIMIT_OUT_OF_RANGE", "page_size") },
  {
    name: "page_size 4294967295",
    rpc: "ListOutbox",
    request: { pageSize: 4294967295 },
    expect: invalid("LIMIT_OUT_OF_RANGE", "page_size"),
  },
  {
    name: "ListMessages page_size 1000000",
    rpc: "ListMessages",
    request: { accountId: 1, pageSize: 1_000_000 },
    expect: invalid("LIMIT_OUT_OF_RANGE", "page_size"),
  },
  {
    name: "a forged page token",
    rpc: "ListOutbox",
    request: { pageToken: Buffer.from("o1:-5").toString("base64url") },
    expect: invalid("PAGE_TOKEN_INVALID", "page_token"),
  },
  {
    name: "a 1 MB page token",
    rpc: "ListOutbox",
    request: { pageToken: "A".repeat(MB) },
    expect: invalid("PAGE_TOKEN_INVALID", "page_token"),
  },

  // The mailbox.
  {
    name: "IngestMessage of nothing",
    rpc: "IngestMessage",
    request: { accountId: 1, raw: new Uint8Array() },
    expect: invalid("REQUIRED_FIELD_EMPTY", "raw"),
  },
  {
    name: "IngestMessage of binary garbage",
    rpc: "IngestMessage",
    request: { accountId: 1, raw: new Uint8Array([0, 255, 0, 254]) },
    expect: invalid("MESSAGE_INVALID", "raw"),
  },
  {
    name: "ListMessages query of 201 characters",
    rpc: "ListMessages",
    request: { accountId: 1, query: "q".repeat(201) },
    expect: invalid("QUERY_TOO_LONG", "query"),
  },
];

/** Protobuf wire bytes by hand: a varint, and a tag for field `n` with wire type `w`. */
function varint(value: bigint): number[] {
  const out: number[] = [];
  let v = value;
  do {
    const byte = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v ? byte | 0x80 : byte);
  } while (v);
  return out;
}
const tag = (n: number, w: number) => varint(BigInt((n << 3) | w));
/** A Connect streaming request: one enveloped message. */
const envelope = (text: string) => grpcFrame(Buffer.from(text));
const bytes = (...parts: (number[] | Uint8Array)[]) => new Uint8Array(parts.flatMap((p) => [...p]));

const sendBytes = toBinary(SendRequestSchema, create(SendRequestSchema, SEND));
const json = (value: unknown) => JSON.stringify(value);
const SEND_JSON = { accountId: 1, to: ["bob@example.com"], subject: "hello", bodyText: "body" };
const connect = (name: string, method: string, body: string | Uint8Array, expect: Expected, headers?: RawCase["headers"]): RawCase => ({
  name,
  protocol: "connect",
  method,
  body,
  expect,
  headers,
});
const sendJson = (name: string, patch: Record<string, unknown>, expect: Expected) =>
  connect(name, "EmailService/Send", json({ ...SEND_JSON, ...patch }), expect);
/** A gRPC call whose one frame holds `message`. */
const grpc = (name: string, method: string, message: Uint8Array, expect: Expected, headers?: RawCase["headers"]): RawCase =>
  grpcBody(name, method, grpcFrame(message), expect, headers);
/** A gRPC call with exactly this HTTP/2 body (frames built by hand). */
const grpcBody = (name: string, method: string, body: Uint8Array, expect: Expected, headers?: RawCase["headers"]): RawCase => ({
  name,
  protocol: "grpc",
  method,
  body,
  expect,
  headers,
});

const DECODE_JSON = /^cannot decode (message|field|enum) [\w.]+ from JSON: /;
// Undecodable protobuf is the client's error: INVALID_ARGUMENT with a reason, never INTERNAL.
const MALFORMED: Expected = {
  code: Code.InvalidArgument,
  reason: "REQUEST_MALFORMED",
  message: /^the request is not a valid protobuf message: /,
};
const deadline: Expected = { code: Code.DeadlineExceeded, reason: "DEADLINE_EXCEEDED" };

export const RAW: RawCase[] = [
  // Malformed JSON.
  connect("truncated JSON", "EmailService/Send", '{"accountId": 1, "to": [', protocolError(Code.InvalidArgument, DECODE_JSON)),
  connect("empty body", "EmailService/Send", "", protocolError(Code.InvalidArgument, DECODE_JSON)),
  connect("JSON array instead of an object", "EmailService/Send", "[]", protocolError(Code.InvalidArgument, DECODE_JSON)),
  connect("JSON null", "EmailService/Send", "null", protocolError(Code.InvalidArgument, DECODE_JSON)),
  connect(
    "100,000 nested arrays",
    "EmailService/Send",
    `{"to":${"[".repeat(100_000)}${"]".repeat(100_000)}}`,
    protocolError(Code.InvalidArgument, DECODE_JSON),
  ),
  sendJson("an unknown field", { bcc_all: true }, protocolError(Code.InvalidArgument, DECODE_JSON)),
  sendJson("a string where a list belongs", { to: "bob@example.com" }, protocolError(Code.InvalidArgument, DECODE_JSON)),
  sendJson("null inside a list", { to: [null] }, protocolError(Code.InvalidArgument, DECODE_JSON)),
  sendJson("a number where a string belongs", { subject: 42 }, protocolError(Code.InvalidArgument, DECODE_JSON)),
  sendJson("an object as the subject", { subject: { toString: "x" } }, protocolError(Code.InvalidArgument, DECODE_JSON)),
  // Enum names that are not in the enum, numbers outside int32.
  sendJson("failureMode name not in the enum", { failureMode: "FAILURE_MODE_EXPLODE" }, protocolError(Code.InvalidArgument, DECODE_JSON)),
  sendJson("failureMode 2^31", { failureMode: 2147483648 }, protocolError(Code.InvalidArgument, DECODE_JSON)),
  sendJson("failureMode 1.5", { failureMode: 1.5 }, protocolError(Code.InvalidArgument, DECODE_JSON)),
  connect(
    "status name not in the enum",
    "EmailService/ListOutbox",
    json({ statuses: ["OUTBOX_STATUS_GONE"] }),
    protocolError(Code.InvalidArgument, DECODE_JSON),
  ),
  connect("status 99 by number", "EmailService/ListOutbox", json({ statuses: [99] }), invalid("STATUS_INVALID", "statuses")),
  // Negative and huge ids.
  sendJson("accountId -1", { accountId: -1 }, protocolError(Code.InvalidArgument, DECODE_JSON)),
  sendJson("accountId 2^32", { accountId: 4294967296 }, protocolError(Code.InvalidArgument, DECODE_JSON)),
  sendJson("accountId as a word", { accountId: "one" }, protocolError(Code.InvalidArgument, DECODE_JSON)),
  connect('outboxId "-1"', "EmailService/GetOutbox", json({ outboxId: "-1" }), protocolError(Code.InvalidArgument, DECODE_JSON)),
  connect(
    'outboxId "18446744073709551616"',
    "EmailService/GetOutbox",
    json({ outboxId: "18446744073709551616" }),
    protocolError(Code.InvalidArgument, DECODE_JSON),
  ),
  connect(
    'outboxId "18446744073709551615"',
    "EmailService/GetOutbox",
    json({ outboxId: "18446744073709551615" }),
    invalid("OUTBOX_ID_INVALID", "outbox_id"),
  ),
  connect('outboxId "1e400"', "EmailService/CancelOutbox", json({ outboxId: "1e400" }), protocolError(Code.InvalidArgument, DECODE_JSON)),
  connect("outboxId 1.5", "EmailService/RetryOutbox", json({ outboxId: 1.5 }), protocolError(Code.InvalidArgument, DECODE_JSON)),
  connect(
    'afterEventId "-3"',
    "EmailService/WatchOutbox",
    envelope(json({ afterEventId: "-3" })),
    protocolError(Code.InvalidArgument, DECODE_JSON),
    { "content-type": "application/connect+json" },
  ),
  connect(
    "a stream request that is not enveloped",
    "EmailService/WatchOutbox",
    json({}),
    protocolError(Code.InvalidArgument, /^protocol error: (incomplete envelope|promised \d+ bytes)/),
    { "content-type": "application/connect+json" },
  ),
  // Page sizes beyond the type.
  connect("pageSize -1", "EmailService/ListOutbox", json({ pageSize: -1 }), protocolError(Code.InvalidArgument, DECODE_JSON)),
  connect("pageSize 2^32", "EmailService/ListOutbox", json({ pageSize: 4294967296 }), protocolError(Code.InvalidArgument, DECODE_JSON)),
  connect("pageSize 1e9", "EmailService/ListOutbox", json({ pageSize: 1e9 }), invalid("LIMIT_OUT_OF_RANGE", "page_size")),
  // Timestamps.
  sendJson("sendAt that is not a time", { sendAt: "tomorrow" }, protocolError(Code.InvalidArgument, DECODE_JSON)),
  sendJson("sendAt in year 10000", { sendAt: "10000-01-01T00:00:00Z" }, protocolError(Code.InvalidArgument, DECODE_JSON)),
  sendJson("sendAt in year 9999", { sendAt: "9999-12-31T23:59:59Z" }, invalid("SEND_AT_OUT_OF_RANGE", "send_at")),
  // Wrong content types and protocol headers.
  connect("text/plain", "EmailService/Send", json(SEND_JSON), { http: 415 }, { "content-type": "text/plain" }),
  connect("application/xml", "EmailService/Send", "<send/>", { http: 415 }, { "content-type": "application/xml" }),
  connect("form encoding", "EmailService/Send", "accountId=1", { http: 415 }, { "content-type": "application/x-www-form-urlencoded" }),
  connect("no content type", "EmailService/Send", json(SEND_JSON), { http: 415 }, { "content-type": undefined }),
  connect("JSON sent as application/proto", "EmailService/Send", json(SEND_JSON), MALFORMED, { "content-type": "application/proto" }),
  connect("gzip that is not gzip", "EmailService/Send", json(SEND_JSON), protocolError(Code.InvalidArgument, /^decompression failed/), {
    "content-encoding": "gzip",
  }),
  connect(
    "an unsupported compression",
    "EmailService/Send",
    json(SEND_JSON),
    protocolError(Code.Unimplemented, /^unknown compression "snappy"/),
    { "content-encoding": "snappy" },
  ),
  connect("an unknown method", "EmailService/DeleteEverything", "{}", { http: 404 }),
  connect("a method of a service that does not exist", "AdminService/Drop", "{}", { http: 404 }),
  // Deadlines already passed.
  connect("connect-timeout-ms 0", "EmailService/Send", json(SEND_JSON), deadline, { "connect-timeout-ms": "0" }),
  connect("connect-timeout-ms 1", "EmailService/Send", json(SEND_JSON), deadline, { "connect-timeout-ms": "1" }),
  connect("connect-timeout-ms 1 on a read", "EmailService/ListOutbox", "{}", deadline, { "connect-timeout-ms": "1" }),
  connect(
    "connect-timeout-ms not a number",
    "EmailService/Send",
    json(SEND_JSON),
    protocolError(Code.InvalidArgument, /invalid connect timeout value/),
    { "connect-timeout-ms": "soon" },
  ),
  // Keys.
  connect(
    "no authorization",
    "EmailService/Send",
    json(SEND_JSON),
    { code: Code.Unauthenticated, reason: "API_KEY_MISSING" },
    { authorization: undefined },
  ),
  connect(
    "Basic authorization",
    "EmailService/Send",
    json(SEND_JSON),
    { code: Code.Unauthenticated, reason: "API_KEY_INVALID" },
    { authorization: "Basic YWRtaW46YWRtaW4=" },
  ),
  connect(
    "Bearer with no key",
    "EmailService/Send",
    json(SEND_JSON),
    { code: Code.Unauthenticated, reason: "API_KEY_INVALID" },
    { authorization: "Bearer" },
  ),
  connect(
    "Bearer with two words",
    "EmailService/Send",
    json(SEND_JSON),
    { code: Code.Unauthenticated, reason: "API_KEY_INVALID" },
    { authorization: "Bearer eo_a eo_b" },
  ),
  connect(
    "an 8 KB key",
    "EmailService/Send",
    json(SEND_JSON),
    { code: Code.Unauthenticated, reason: "API_KEY_INVALID" },
    { authorization: `Bearer eo_${"k".repeat(8192)}` },
  ),

  // Malformed protobuf in gRPC frames over HTTP/2.
  grpc("random bytes", "EmailService/Send", bytes([0xff, 0xff, 0xff, 0xff, 0x0f]), MALFORMED),
  grpc("a truncated length-delimited field", "EmailService/Send", bytes(tag(2, 2), varint(50n), Buffer.from("bob@")), MALFORMED),
  grpc("a varint of 11 bytes", "EmailService/GetOutbox", bytes(tag(1, 0), Array(10).fill(0xff), [0x01]), MALFORMED),
  grpc("the wrong wire type for account_id", "EmailService/Send", bytes(tag(1, 2), [1, 0x41], sendBytes.subarray(2)), MALFORMED),
  grpc("an end-group tag with no group", "EmailService/Send", bytes(tag(1, 4)), MALFORMED),
  grpc("wire type 7", "EmailService/Send", bytes(tag(1, 7), [1]), MALFORMED),
  grpc("invalid UTF-8 in the subject", "EmailService/Send", bytes(sendBytes, tag(3, 2), [2, 0xc3, 0x28]), MALFORMED),
  grpc(
    "outbox_id -1 as a 64-bit varint",
    "EmailService/GetOutbox",
    bytes(tag(1, 0), varint(U64_MAX)),
    invalid("OUTBOX_ID_INVALID", "outbox_id"),
  ),
  grpc("account_id -1 as a 64-bit varint", "EmailService/Send", bytes(sendBytes, tag(1, 0), varint(U64_MAX)), {
    code: Code.NotFound,
    reason: "ACCOUNT_NOT_FOUND",
  }),
  // A uint32 read from a longer varint keeps its low 32 bits (protobuf semantics): 2^32+600 is 600.
  grpc(
    "page_size 2^32+600 in a 64-bit varint",
    "EmailService/ListOutbox",
    bytes(tag(3, 0), varint(2n ** 32n + 600n)),
    invalid("LIMIT_OUT_OF_RANGE", "page_size"),
  ),
  grpc(
    "failure_mode -2",
    "EmailService/Send",
    bytes(sendBytes, tag(6, 0), varint(U64_MAX - 1n)),
    invalid("FAILURE_MODE_INVALID", "failure_mode"),
  ),
  grpc("only an unknown field", "EmailService/Send", bytes(tag(999, 0), [1]), invalid("REQUIRED_FIELD_EMPTY", "to")),
  grpcBody(
    "a frame shorter than its length prefix",
    "EmailService/Send",
    grpcFrame(sendBytes, { declaredLength: sendBytes.length + 100 }),
    protocolError(Code.InvalidArgument, /^protocol error: incomplete envelope/),
  ),
  grpcBody(
    "a frame that claims 4 GB",
    "EmailService/Send",
    grpcFrame(sendBytes, { declaredLength: 0xffffffff }),
    protocolError(Code.ResourceExhausted, /^message size 4294967295 is larger than configured readMaxBytes/),
  ),
  grpcBody(
    "a compressed flag with no grpc-encoding",
    "EmailService/Send",
    grpcFrame(sendBytes, { compressed: true }),
    protocolError(Code.Internal, /^received compressed envelope, but do not know how to decompress/),
  ),
  grpcBody(
    "gzip-flagged garbage",
    "EmailService/Send",
    grpcFrame(sendBytes, { compressed: true }),
    protocolError(Code.InvalidArgument, /^decompression failed/),
    { "grpc-encoding": "gzip" },
  ),
  grpcBody(
    "an unsupported grpc-encoding",
    "EmailService/Send",
    grpcFrame(sendBytes),
    protocolError(Code.Unimplemented, /^unknown compression "snappy"/),
    { "grpc-encoding": "snappy" },
  ),
  grpcBody(
    "two messages to a unary method",
    "EmailService/Send",
    Buffer.concat([grpcFrame(sendBytes), grpcFrame(sendBytes)]),
    protocolError(Code.Unimplemented, /^protocol error: received extra input message for unary method/),
  ),
  grpcBody(
    "no message at all",
    "EmailService/Send",
    new Uint8Array(),
    protocolError(Code.Unimplemented, /^protocol error: missing input message for unary method/),
  ),
  grpcBody(
    "protobuf sent as application/grpc+json",
    "EmailService/Send",
    grpcFrame(sendBytes),
    protocolError(Code.InvalidArgument, DECODE_JSON),
    { "content-type": "application/grpc+json" },
  ),
  grpcBody(
    "content type application/grpc+xml",
    "EmailService/Send",
    grpcFrame(sendBytes),
    { http: 415 },
    { "content-type": "application/grpc+xml" },
  ),
  grpcBody("content type text/html", "EmailService/Send", grpcFrame(sendBytes), { http: 415 }, { "content-type": "text/html" }),
  grpcBody("grpc-timeout 1m", "EmailService/Send", grpcFrame(sendBytes), deadline, { "grpc-timeout": "1m" }),
  grpcBody("grpc-timeout 0n", "EmailService/Send", grpcFrame(sendBytes), deadline, { "grpc-timeout": "0n" }),
  grpcBody("grpc-timeout 9999u on a stream", "EmailService/WatchOutbox", grpcFrame(new Uint8Array()), deadline, {
    "grpc-timeout": "9999u",
  }),
  grpcBody(
    "grpc-timeout garbage",
    "EmailService/Send",
    grpcFrame(sendBytes),
    protocolError(Code.InvalidArgument, /invalid grpc timeout value/),
    { "grpc-timeout": "forever" },
  ),
  grpcBody(
    "no key over gRPC",
    "EmailService/GetOutbox",
    grpcFrame(toBinary(GetOutboxRequestSchema, create(GetOutboxRequestSchema, { outboxId: 1n }))),
    { code: Code.Unauthenticated, reason: "API_KEY_MISSING" },
    { authorization: undefined },
  ),
  grpcBody(
    "a key in lower-case bearer with tabs",
    "EmailService/ListOutbox",
    grpcFrame(toBinary(ListOutboxRequestSchema, create(ListOutboxRequestSchema, {}))),
    { code: Code.Unauthenticated, reason: "API_KEY_INVALID" },
    { authorization: "bearer\teo_nope" },
  ),
];
