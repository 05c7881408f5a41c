// Sender identities (from within allowed_from, MAIL FROM stays the account's), custom headers
// (sent alike on every attempt), and tags and metadata (returned, watched, filtered, counted by
// configured tag name, never written into the message): over a real client and the real sink.
import { afterAll, beforeAll, expect, test } from "vitest";
import { Code } from "@connectrpc/connect";
import { OutboxStatus } from "../../gen/email/v1/outbox_pb.js";
import { startSmtpSink, type Reply, type SmtpSink } from "../helpers/smtp-sink.js";
import { sinkAccount, startTestApp, type TestApp } from "../helpers/app.js";
import { curlConnect, emailClient, grpcJsClient, type EmailClient } from "../helpers/clients.js";
import { refusal } from "../helpers/refusal.js";

/** What the sink answers to DATA; undefined accepts. Every DATA it saw, accepted or not. */
let dataReply: Reply | undefined;
const dataSeen: Buffer[] = [];
let sink: SmtpSink;
let t: TestApp;
let client: EmailClient;

beforeAll(async () => {
  sink = await startSmtpSink({
    script: (stage, ctx) => {
      if (stage !== "data") return undefined;
      if (ctx.raw) dataSeen.push(ctx.raw);
      return dataReply;
    },
  });
  t = await startTestApp({
    label: "api_message_options",
    json: {
      accounts: [{ ...sinkAccount(1, sink.port), allowed_from: ["News@Example.com", "*@brand.example"] }, sinkAccount(2, sink.port)],
      metrics: { tag_labels: ["campaign"] },
    },
  });
  client = emailClient(t.url);
});
afterAll(async () => {
  await t?.close();
  await sink?.close();
});

const message = { accountId: 1, to: ["bob@example.com"], subject: "Options", bodyText: "Body" };
const UNSUBSCRIBE = {
  "List-Unsubscribe": "<https://example.com/unsubscribe/42>, <mailto:unsubscribe@example.com?subject=42>",
  "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
};

async function rowCount(): Promise<number> {
  const [rows] = (await t.app.pool.query("SELECT COUNT(*) AS n FROM outbox")) as unknown as [{ n: number }[]];
  return Number(rows[0]!.n);
}

/** The message the sink accepted for an outbox row. */
function deliveredOf(id: bigint) {
  const found = sink.messages.find((m) => m.raw.includes(`X-Outbox-ID: ${id}\r\n`));
  if (!found) throw new Error(`row ${id} was not delivered`);
  return found;
}

/** The header lines of raw message bytes, unfolded, as "Name: value". */
function headerLines(raw: Buffer): string[] {
  const head = raw.toString("latin1").split("\r\n\r\n")[0]!;
  return head.replace(/\r\n[ \t]/g, " ").split("\r\n");
}

test("from within allowed_from is the From header; the envelope sender stays the account's", async () => {
  for (const [from, header, line] of [
    ["Newsletter <news@example.com>", '"Newsletter" <news@example.com>', "Newsletter <news@example.com>"], // exact entry, any case
    ["offers@brand.example", "offers@brand.example", "offers@brand.example"], // *@brand.example
    ['"Doe, Jane" <sender1@example.com>', '"Doe, Jane" <sender1@example.com>', '"Doe, Jane" <sender1@example.com>'], // its own address
  ]) {
    const { outbox } = await client.send({
      ...message,
      from,
      cc: ["carol@example.com"],
      bcc: ["hidden@example.com"],
      waitForAttempt: true,
    });
    expect(outbox).toMatchObject({ status: OutboxStatus.SENT, from: header });
    const delivered = deliveredOf(outbox!.outboxId);
    expect(delivered.envelope).toEqual({ from: "sender1@example.com", to: ["bob@example.com", "carol@example.com", "hidden@example.com"] });
    expect(delivered.raw.toString()).not.toContain("hidden@");
    expect(headerLines(delivered.raw)).toContain(`From: ${line}`);
    expect((await client.getOutbox({ outboxId: outbox!.outboxId })).outbox!.from).toBe(header);
  }
  // Without from, the account's.
  const { outbox } = await client.send({ ...message, waitForAttempt: true });
  expect(outbox!.from).toBe("Account 1 <sender1@example.com>");
});

test("a from the account may not use is FROM_NOT_ALLOWED before any write, in Send and SendBatch", async () => {
  const before = await rowCount();
  for (const from of ["evil@example.net", "x@sub.brand.example", "news@example.com.evil"]) {
    const r = await refusal(client.send({ ...message, from }));
    expect(r).toMatchObject({ code: Code.InvalidArgument, reason: "FROM_NOT_ALLOWED", fields: ["from"] });
  }
  // Account 2 has no allowed_from: only its own address.
  const two = await refusal(client.send({ ...message, accountId: 2, from: "news@example.com" }));
  expect(two.reason).toBe("FROM_NOT_ALLOWED");
  const bad = await refusal(client.send({ ...message, from: "News <news@example.com>\r\nBcc: x@y.z" }));
  expect(bad).toMatchObject({ code: Code.InvalidArgument, reason: "HEADER_INJECTION", fields: ["from"] });

  const batch = await client.sendBatch({
    messages: [
      { ...message, from: "evil@example.net" },
      { ...message, from: "a@brand.example" },
    ],
  });
  expect(batch.results[0]!.result.case).toBe("error");
  expect(batch.results[1]!.result).toMatchObject({ case: "outbox", value: { from: "a@brand.example" } });
  expect(await rowCount()).toBe(before + 1);
});

test("custom headers are sent as given and identical on a retry; List-Unsubscribe one-click", async () => {
  dataReply = { code: 451, message: "4.3.0 try again" };
  const failed = (await client.send({ ...message, subject: "Unsubscribable", headers: UNSUBSCRIBE, waitForAttempt: true })).outbox!;
  expect(failed).toMatchObject({ status: OutboxStatus.FAILED, headers: UNSUBSCRIBE });
  dataReply = undefined;
  const sent = (await client.retryOutbox({ outboxId: failed.outboxId, force: true })).outbox!;
  expect(sent.status).toBe(OutboxStatus.SENT);

  // Both attempts of this row (other rows may be delivered meanwhile).
  const attempts = dataSeen.filter((raw) => raw.includes(`X-Outbox-ID: ${failed.outboxId}\r\n`));
  expect(attempts).toHaveLength(2);
  const [first, second] = attempts.map((raw) => headerLines(raw).filter((l) => /^List-Unsubscribe/.test(l)));
  expect(first).toEqual([`List-Unsubscribe: ${UNSUBSCRIBE["List-Unsubscribe"]}`, "List-Unsubscribe-Post: List-Unsubscribe=One-Click"]);
  expect(second).toEqual(first);
  expect((await client.getOutbox({ outboxId: sent.outboxId })).outbox!.headers).toEqual(UNSUBSCRIBE);
});

test("headers that are structural, malformed, injected or too many are refused before any write", async () => {
  const before = await rowCount();
  const cases: [Record<string, string>, string, string?][] = [
    [{ "Content-Type": "text/html" }, "HEADER_NOT_ALLOWED", "header Content-Type cannot be set in headers"],
    [{ FROM: "a@b.c" }, "HEADER_NOT_ALLOWED", "header FROM cannot be set in headers"],
    [{ "Message-ID": "<x@y>" }, "HEADER_NOT_ALLOWED"],
    [{ "Bad Name": "v" }, "HEADER_NAME_INVALID"],
    [{ "X-Ok:": "v" }, "HEADER_NAME_INVALID"],
    [{ "X-Campaign": "a\r\nBcc: victim@example.com" }, "HEADER_INJECTION"],
    [{ "X-A": "1", "x-a": "2" }, "HEADER_DUPLICATE"],
    [Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`X-H${i}`, "v"])), "TOO_MANY_HEADERS"],
    [{ "X-Big": "v".repeat(16 * 1024) }, "HEADERS_TOO_LARGE"],
  ];
  for (const [headers, reason, text] of cases) {
    const r = await refusal(client.send({ ...message, headers }));
    expect(r, reason).toMatchObject({ code: Code.InvalidArgument, reason });
    if (text) expect(r.message).toBe(text);
  }
  // 50 headers are allowed.
  const fifty = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`X-H${i}`, "v"]));
  expect((await client.send({ ...message, headers: fifty })).outbox!.status).not.toBe(OutboxStatus.UNSPECIFIED);
  expect(await rowCount()).toBe(before + 1);
});

test("tags and metadata: returned, on every watch event, filtered by tag, never in the message", async () => {
  const tags = { campaign: "welcome-2026", tier: "gold" };
  const meta = { "user id": "u-42", note: "first mail ✓" };
  // Over gRPC (binary, HTTP/2): the service's own framed stream path.
  const grpcClient = emailClient(t.url, "connect-node gRPC (HTTP/2)");
  const watch = new AbortController();
  const stream = grpcClient.watchOutbox({ tags: { campaign: "welcome-2026" } }, { signal: watch.signal });
  const it = stream[Symbol.asyncIterator]();
  expect((await it.next()).value.message.case).toBe("heartbeat"); // the stream is live

  const other = (await client.send({ ...message, tags: { campaign: "other" }, waitForAttempt: true })).outbox!;
  const { outbox } = await client.send({ ...message, subject: "Tagged", tags, metadata: meta, waitForAttempt: true });
  expect(outbox).toMatchObject({ status: OutboxStatus.SENT, tags, metadata: meta });

  const events = [];
  while (events.length < 3) {
    const { value } = await it.next();
    if (value.message.case === "event") events.push(value.message.value);
  }
  watch.abort();
  expect(events.map((e) => e.status)).toEqual([OutboxStatus.PENDING, OutboxStatus.SENDING, OutboxStatus.SENT]);
  for (const e of events) expect(e).toMatchObject({ outboxId: outbox!.outboxId, tags, metadata: meta });

  // A snapshot (include_current) holds the tagged rows only, with their tags and metadata.
  const snap = new AbortController();
  const snapshot = client
    .watchOutbox({ tags: { campaign: "welcome-2026" }, includeCurrent: true }, { signal: snap.signal })
    [Symbol.asyncIterator]();
  const [first, second] = [(await snapshot.next()).value, (await snapshot.next()).value];
  snap.abort();
  expect(first.message).toMatchObject({
    case: "event",
    value: { outboxId: outbox!.outboxId, status: OutboxStatus.SENT, tags, metadata: meta },
  });
  expect(second.message.case).toBe("heartbeat"); // the snapshot had nothing else

  const listed = await client.listOutbox({ tags: { campaign: "welcome-2026" } });
  expect(listed.outboxes.map((o) => o.outboxId)).toEqual([outbox!.outboxId]);
  expect(listed.outboxes[0]).toMatchObject({ tags, metadata: meta });
  expect((await client.listOutbox({ tags: { campaign: "welcome-2026", tier: "silver" } })).outboxes).toEqual([]);
  expect((await client.listOutbox({ tags: { campaign: "other" } })).outboxes.map((o) => o.outboxId)).toEqual([other.outboxId]);

  const delivered = deliveredOf(outbox!.outboxId);
  for (const text of ["u-42", "first mail", "welcome-2026", "gold"]) expect(delivered.raw.toString("latin1")).not.toContain(text);

  // Counted by the configured tag name only.
  const metrics = await (await fetch(`${t.url}/metrics`)).text();
  expect(metrics).toContain('email_outbox_finalized_by_tag_total{tag="campaign",value="welcome-2026",status="sent"} 1');
  expect(metrics).not.toContain('tag="tier"');
});

test("tags and metadata over their limits are refused before any write; a bad tag filter too", async () => {
  const before = await rowCount();
  const many = (n: number, prefix: string) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`${prefix}${i}`, "v"]));
  const cases: [Record<string, unknown>, string][] = [
    [{ tags: many(11, "t") }, "TOO_MANY_TAGS"],
    [{ tags: { "bad name": "v" } }, "TAG_INVALID"],
    [{ tags: { ok: "é" } }, "TAG_INVALID"],
    [{ tags: { ok: "" } }, "TAG_INVALID"],
    [{ metadata: many(21, "m") }, "TOO_MANY_METADATA"],
    [{ metadata: { k: "v".repeat(2048) } }, "METADATA_TOO_LARGE"],
  ];
  for (const [extra, reason] of cases) {
    expect((await refusal(client.send({ ...message, ...extra }))).reason, reason).toBe(reason);
  }
  expect((await client.send({ ...message, tags: many(10, "t"), metadata: many(20, "m") })).outbox!.tags).toEqual(many(10, "t"));
  expect(await rowCount()).toBe(before + 1);
  expect((await refusal(client.listOutbox({ tags: { "no spaces": "x" } }))).reason).toBe("TAG_INVALID");
});

test("Reply takes from, headers, tags and metadata as Send does", async () => {
  const parent = (await client.send({ ...message, to: ["carol@example.com"], subject: "Thread", waitForAttempt: true })).outbox!;
  const r = await client.reply({
    accountId: 1,
    inReplyToMessageId: parent.messageId,
    bodyText: "Re",
    from: "Brand <team@brand.example>",
    headers: UNSUBSCRIBE,
    tags: { campaign: "reply" },
    metadata: { k: "v" },
    waitForAttempt: true,
  });
  expect(r.outbox).toMatchObject({
    status: OutboxStatus.SENT,
    from: '"Brand" <team@brand.example>',
    tags: { campaign: "reply" },
    metadata: { k: "v" },
  });
  const delivered = deliveredOf(r.outbox!.outboxId);
  expect(delivered.envelope).toEqual({ from: "sender1@example.com", to: ["carol@example.com"] });
  expect(headerLines(delivered.raw)).toEqual(
    expect.arrayContaining(["From: Brand <team@brand.example>", "List-Unsubscribe-Post: List-Unsubscribe=One-Click"]),
  );
  expect(
    (await refusal(client.reply({ accountId: 1, inReplyToMessageId: parent.messageId, bodyText: "Re", from: "x@evil.example" }))).reason,
  ).toBe("FROM_NOT_ALLOWED");
});

test("docs/api.md's example over curl (Connect JSON) and grpc-js: maps in JSON and on the .proto", async () => {
  const res = await curlConnect(t.url, "Send", {
    accountId: 1,
    from: "Example News <news@example.com>",
    to: ["bob@example.com"],
    subject: "This week",
    bodyText: "…",
    headers: UNSUBSCRIBE,
    tags: { campaign: "weekly-49" },
    metadata: { user_id: "42" },
  });
  expect(res.status).toBe(200);
  expect(res.body.outbox).toMatchObject({
    from: '"Example News" <news@example.com>',
    headers: UNSUBSCRIBE,
    tags: { campaign: "weekly-49" },
    metadata: { user_id: "42" },
  });
  const listed = await curlConnect(t.url, "ListOutbox", { tags: { campaign: "weekly-49" } });
  expect((listed.body.outboxes as { outboxId: string }[]).map((o) => o.outboxId)).toEqual([
    (res.body.outbox as { outboxId: string }).outboxId,
  ]);

  const grpcJs = grpcJsClient(t.url);
  try {
    const got = await grpcJs.unary<{ outbox: Record<string, unknown> }>("GetOutbox", {
      outbox_id: (res.body.outbox as { outboxId: string }).outboxId,
    });
    expect(got.outbox).toMatchObject({
      from: '"Example News" <news@example.com>',
      tags: { campaign: "weekly-49" },
      metadata: { user_id: "42" },
    });
    const refused = await grpcJs
      .unary("Send", { account_id: 1, to: ["bob@example.com"], subject: "s", body_text: "x", from: "x@evil.example" })
      .catch((e: unknown) => e);
    expect((refused as { code: number }).code).toBe(Code.InvalidArgument);
  } finally {
    grpcJs.close();
  }
});
