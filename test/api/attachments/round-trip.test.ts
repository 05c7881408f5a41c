// 25 MiB attachments end to end, with MariaDB's default 16 MiB max_allowed_packet: exactly the
// default size limit travels over gRPC and over Connect JSON (base64) and arrives byte for byte;
// a failed attempt and a retry after a restart send the very same bytes; requests beyond the
// transport limit are refused with a status, and the server carries on.
import { randomBytes } from "node:crypto";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Code } from "@connectrpc/connect";
import { simpleParser } from "mailparser";
import { afterAll, afterEach, beforeAll, expect, test } from "vitest";
import { EmailService } from "../../../gen/email/v1/email_service_pb.js";
import { OutboxStatus } from "../../../gen/email/v1/outbox_pb.js";
import { CHUNK_BYTES } from "../../../src/outbox/attachments.js";
import { sinkAccount, startTestApp, type TestApp } from "../../helpers/app.js";
import { ManualClock } from "../../helpers/clock.js";
import { createTestDatabase, type TestDatabase } from "../../helpers/db.js";
import { refusal } from "../../helpers/refusal.js";
import { startSmtpSink, type SmtpSink } from "../../helpers/smtp-sink.js";
import { rowCounts, sha256, sql } from "./helpers.js";

const LIMIT = 26_214_400;
const MiB = 1024 * 1024;
/** 25 MiB through the whole path takes seconds; on a loaded machine many. */
const BIG = 120_000;

let db: TestDatabase;
let sink: SmtpSink;
let t: TestApp;
let file: Buffer;
let digest: string;
const clock = new ManualClock(Date.now());

const startApp = () => startTestApp({ db, clock, label: "attachment_round_trip", json: { accounts: [sinkAccount(1, sink.port)] } });
// Node's HTTP/2 client keeps at most 10 MB queued per session by default: a request the server
// refuses without reading it would trip that limit on the client side (NGHTTP2_ENHANCE_YOUR_CALM)
// before the server's RESOURCE_EXHAUSTED arrives. Clients sending large requests raise it.
const grpc = () => createClient(EmailService, createGrpcTransport({ baseUrl: t.url, nodeOptions: { maxSessionMemory: 128 } }));

/**
 * A Connect JSON call as any HTTP client makes it (curl, Python requests): the bytes as base64 in
 * a JSON body. (connect-node's own JSON mode base64-encodes in plain JS, ~20 s for 25 MiB.)
 */
async function sendJson(content: Buffer): Promise<{ status: number; body: Record<string, any> }> {
  const { attachments, ...rest } = request(content);
  const body = JSON.stringify({ ...rest, attachments: attachments.map((a) => ({ ...a, content: content.toString("base64") })) });
  const res = await fetch(`${t.url}/email.v1.EmailService/Send`, {
    method: "POST",
    headers: { "content-type": "application/json", "connect-protocol-version": "1" },
    body,
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}
const request = (content: Uint8Array, filename = "archive.zip") => ({
  accountId: 1,
  to: ["Bob <bob@example.com>"],
  subject: "Archive",
  bodyText: "The archive.",
  waitForAttempt: true,
  attachments: [{ filename, contentType: "application/zip", content }],
});

beforeAll(async () => {
  file = randomBytes(LIMIT);
  digest = sha256(file);
  db = await createTestDatabase("attachment_round_trip");
  sink = await startSmtpSink();
  t = await startApp();
});
afterAll(async () => {
  await t?.close();
  await sink?.close();
  await db?.drop();
});

// Each received message holds ~60 MB (raw and parsed): keep none beyond its test.
afterEach(() => sink.clear());

/** The sha256 of each attachment of the one message the sink received in this test. */
async function delivered(): Promise<string[]> {
  const [message] = await sink.waitFor(1);
  expect(sink.messages).toHaveLength(1);
  return message!.parsed.attachments.map((a) => sha256(a.content));
}

test("exactly 25 MiB over gRPC arrives byte for byte, stored in chunks below the packet limit", { timeout: BIG }, async () => {
  const [packet] = await sql<{ max: number }[]>(db.url, "SELECT @@max_allowed_packet AS max");
  expect(Number(packet!.max)).toBeLessThan(LIMIT); // the server default: no tuning was needed
  const res = await grpc().send(request(file));
  expect(res.outbox?.status).toBe(OutboxStatus.SENT);
  expect(await delivered()).toEqual([digest]);
  const chunks = await sql<{ n: number; largest: number }[]>(
    db.url,
    "SELECT COUNT(*) AS n, MAX(LENGTH(data)) AS largest FROM outbox_attachment_chunk WHERE outbox_id = ?",
    [Number(res.outbox!.outboxId)],
  );
  expect({ n: Number(chunks[0]!.n), largest: Number(chunks[0]!.largest) }).toEqual({
    n: Math.ceil(LIMIT / CHUNK_BYTES),
    largest: CHUNK_BYTES,
  });
});

test("exactly 25 MiB over Connect JSON (base64) arrives byte for byte", { timeout: BIG }, async () => {
  const res = await sendJson(file);
  expect({ status: res.status, outbox: res.body.outbox?.status }).toEqual({ status: 200, outbox: "OUTBOX_STATUS_SENT" });
  expect(await delivered()).toEqual([digest]);
});

test("a failed attempt and a retry after a restart send the same 25 MiB", { timeout: BIG }, async () => {
  const attempts: Buffer[] = [];
  sink.script = (stage, ctx) => {
    if (stage !== "data") return undefined;
    attempts.push(ctx.raw!);
    return attempts.length === 1 ? { code: 451, message: "4.3.0 try again later" } : undefined;
  };
  try {
    const first = await grpc().send(request(file, "first.zip"));
    expect(first.outbox?.status).toBe(OutboxStatus.FAILED);
    // A new process on the same database: the bytes can only come from the outbox tables.
    await t.app.stop();
    t = await startApp();
    const retried = await grpc().retryOutbox({ outboxId: first.outbox!.outboxId, force: true });
    expect(retried.outbox?.status).toBe(OutboxStatus.SENT);
  } finally {
    sink.script = undefined;
  }
  expect(attempts).toHaveLength(2);
  const failed = await simpleParser(attempts[0]!);
  expect(failed.attachments.map((a) => sha256(a.content))).toEqual([digest]);
  expect(await delivered()).toEqual([digest]);
});

test("one byte over 25 MiB is refused by the policy", async () => {
  const before = await rowCounts(db.url);
  const r = await refusal(grpc().send(request(Buffer.concat([file, Buffer.alloc(1)]))));
  expect({ code: r.code, reason: r.reason, message: r.message }).toEqual({
    code: Code.InvalidArgument,
    reason: "ATTACHMENT_TOO_LARGE",
    message: "attachment exceeds size limit",
  });
  expect(await rowCounts(db.url)).toEqual(before);
});

test("requests beyond the 48 MiB transport limit get RESOURCE_EXHAUSTED and the server carries on", { timeout: BIG }, async () => {
  const before = await rowCounts(db.url);
  const huge = Buffer.alloc(49 * MiB, 1);
  expect((await refusal(grpc().send(request(huge)))).code).toBe(Code.ResourceExhausted);
  // 37 MiB is 49.3 MiB of base64.
  const json = await sendJson(huge.subarray(0, 37 * MiB));
  expect({ status: json.status, code: json.body.code }).toEqual({ status: 429, code: "resource_exhausted" });
  expect(await rowCounts(db.url)).toEqual(before);
  const res = await grpc().send(request(Buffer.from("still serving")));
  expect(res.outbox?.status).toBe(OutboxStatus.SENT);
});
