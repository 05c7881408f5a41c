// Send, Reply and SendBatch with a stored template instead of a body, on the real server with
// real clients and a real SMTP sink: what is rendered at accept is what every attempt sends,
// parsed alike by mailparser and Python; a refused render writes nothing.
import { afterAll, beforeAll, expect, test } from "vitest";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import mysql from "mysql2/promise";
import { EmailService } from "../../gen/email/v1/email_service_pb.js";
import { MailboxService } from "../../gen/email/v1/mailbox_service_pb.js";
import { OutboxStatus } from "../../gen/email/v1/outbox_pb.js";
import { TemplateService } from "../../gen/email/v1/template_service_pb.js";
import { batchError, errorReason } from "../../src/client/errors.js";
import { sinkAccount, startTestApp, type TestApp } from "../helpers/app.js";
import { curlConnect, grpcJsClient } from "../helpers/clients.js";
import { refusal } from "../helpers/refusal.js";
import { startSmtpSink, type SmtpSink } from "../helpers/smtp-sink.js";
import { statementsDuring } from "../helpers/statements.js";
import { countRows } from "../helpers/tables.js";
import { partsWithMailparser, partsWithPython } from "./parse-parts.js";

let sink: SmtpSink;
let t: TestApp;
let email: Client<typeof EmailService>;
let templates: Client<typeof TemplateService>;

beforeAll(async () => {
  sink = await startSmtpSink();
  t = await startTestApp({ label: "templates_send", json: { accounts: [sinkAccount(1, sink.port)] } });
  email = createClient(EmailService, createGrpcTransport({ baseUrl: t.url }));
  templates = createClient(TemplateService, createConnectTransport({ baseUrl: t.url, httpVersion: "1.1" }));
  await templates.createTemplate({
    accountId: 1,
    name: "frame",
    content: { subject: "", html: '<div class="brand">Café Ünïcode</div>{{{body}}}', text: "" },
  });
  await templates.createTemplate({
    accountId: 1,
    name: "receipt",
    content: {
      subject: "Reçu n° {{order.id}} pour {{name}} ✓",
      html:
        "<h1>Merci, {{name}}!</h1><ul>{{#each order.items}}<li>{{title}} — {{formatNumber price locale='fr-FR' style='currency' currency='EUR'}}</li>{{/each}}</ul>" +
        '<p><a href="https://shop.example/o/{{order.id}}">Voir la commande</a></p>',
      text: "",
      layout: "frame",
    },
  });
});
afterAll(async () => {
  await t?.close();
  await sink?.close();
});

const receiptData = (name: string) => ({
  name,
  order: {
    id: 42,
    items: [
      { title: "Crème brûlée", price: 6.5 },
      { title: "日本茶", price: 3 },
    ],
  },
});
const db = () => mysql.createConnection({ uri: t.db.url });

test("a templated Send is rendered at accept, recorded with its template, and both parsers read it alike", async () => {
  const res = await email.send({
    accountId: 1,
    to: ["zoe@example.com"],
    template: { name: "receipt", data: receiptData("Zoë <Ø>") },
    waitForAttempt: true,
  });
  expect(res.outbox).toMatchObject({
    status: OutboxStatus.SENT,
    templateName: "receipt",
    templateVersion: 1,
    subject: "Reçu n° 42 pour Zoë <Ø> ✓",
  });
  const detail = await email.getOutboxMessage({ outboxId: res.outbox!.outboxId });
  const euros = (n: number) => new Intl.NumberFormat("fr-FR", { style: "currency", currency: "EUR" }).format(n);
  const html =
    '<div class="brand">Café Ünïcode</div><h1>Merci, Zoë &lt;Ø&gt;!</h1>' +
    `<ul><li>Crème brûlée — ${euros(6.5)}</li><li>日本茶 — ${euros(3)}</li></ul><p><a href="https://shop.example/o/42">Voir la commande</a></p>`;
  expect(detail.bodyHtml).toBe(html);
  expect(detail.bodyText).toContain("Voir la commande [https://shop.example/o/42]");
  expect(detail.bodyText).toContain("Zoë <Ø>");
  const msg = sink.messages.find((m) => m.messageId === res.outbox!.messageId)!;
  const [python, mailparser] = await Promise.all([partsWithPython(msg.raw), partsWithMailparser(msg.raw)]);
  expect(python.defects).toEqual([]);
  const expected = { subject: "Reçu n° 42 pour Zoë <Ø> ✓", text: detail.bodyText.replace(/\n+$/, ""), html };
  expect({ subject: python.subject, text: python.text, html: python.html }).toEqual(expected);
  expect(mailparser).toEqual(expected);
});

test("a missing value is INVALID_ARGUMENT naming its path, and no row is written", async () => {
  const before = await countRows(t.db.url);
  const data = receiptData("Ann");
  delete (data.order.items[1] as { price?: number }).price;
  const r = await refusal(email.send({ accountId: 1, to: ["a@example.com"], template: { name: "receipt", data } }));
  expect(r).toMatchObject({ code: Code.InvalidArgument, reason: "TEMPLATE_DATA_MISSING", fields: ["template.data"] });
  expect(r.metadata.path).toBe("order.items[1].price");
  expect(r.message).toContain("order.items[1].price");
  expect(await countRows(t.db.url)).toEqual(before);
});

test("hostile data: HTML escaped, {{ kept literal, a header-breaking subject refused as a plain Send is", async () => {
  await templates.createTemplate({
    accountId: 1,
    name: "echo",
    content: { subject: "About {{topic}}", html: "<p>{{topic}}</p>", text: "{{topic}}" },
  });
  const topic = "<script>alert('x')</script> {{name}} {{{body}}}";
  const res = await email.send({ accountId: 1, to: ["b@example.com"], template: { name: "echo", data: { topic } }, waitForAttempt: true });
  const msg = sink.messages.find((m) => m.messageId === res.outbox!.messageId)!;
  const parts = await partsWithPython(msg.raw);
  expect(parts.html).toBe("<p>&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; {{name}} {{{body}}}</p>");
  expect(parts.text).toBe(topic);
  expect(parts.subject).toBe(`About ${topic}`);

  const before = await countRows(t.db.url);
  const breaking = "a\r\nBcc: victim@example.com";
  const templated = await refusal(
    email.send({ accountId: 1, to: ["b@example.com"], template: { name: "echo", data: { topic: breaking } } }),
  );
  const plain = await refusal(email.send({ accountId: 1, to: ["b@example.com"], subject: `About ${breaking}`, bodyText: "x" }));
  expect(templated).toMatchObject({ code: Code.InvalidArgument, reason: "HEADER_INJECTION", fields: ["subject"] });
  expect(templated).toEqual(plain);
  expect(await countRows(t.db.url)).toEqual(before);
});

test("a new version changes nothing already accepted; a pinned version renders that version", async () => {
  await templates.createTemplate({ accountId: 1, name: "notice", content: { subject: "v1 {{n}}", html: "", text: "first {{n}}" } });
  const later = await email.send({
    accountId: 1,
    to: ["c@example.com"],
    template: { name: "notice", data: { n: 1 } },
    sendAt: timestampFromMs(Date.now() + 3_600_000),
  });
  await templates.updateTemplate({ accountId: 1, name: "notice", content: { subject: "v2 {{n}}", html: "", text: "second {{n}}" } });
  const now = await email.send({ accountId: 1, to: ["c@example.com"], template: { name: "notice", data: { n: 2 } }, waitForAttempt: true });
  expect(now.outbox).toMatchObject({ subject: "v2 2", templateVersion: 2 });
  const pinned = await email.send({
    accountId: 1,
    to: ["c@example.com"],
    template: { name: "notice", version: 1, data: { n: 3 } },
    waitForAttempt: true,
  });
  expect(pinned.outbox).toMatchObject({ subject: "v1 3", templateVersion: 1 });
  // The scheduled row is sent now, with what it was rendered to.
  const retried = await email.retryOutbox({ outboxId: later.outbox!.outboxId, force: true });
  expect(retried.outbox).toMatchObject({ status: OutboxStatus.SENT, subject: "v1 1", templateVersion: 1 });
  const msg = sink.messages.find((m) => m.messageId === retried.outbox!.messageId)!;
  expect((await partsWithPython(msg.raw)).text).toBe("first 1");
});

test("Delete stops new sends; rows accepted before keep their content", async () => {
  await templates.createTemplate({ accountId: 1, name: "gone", content: { subject: "Bye {{n}}", html: "", text: "bye {{n}}" } });
  const before = await email.send({
    accountId: 1,
    to: ["d@example.com"],
    template: { name: "gone", data: { n: 1 } },
    sendAt: timestampFromMs(Date.now() + 3_600_000),
  });
  await templates.deleteTemplate({ accountId: 1, name: "gone" });
  expect(await refusal(email.send({ accountId: 1, to: ["d@example.com"], template: { name: "gone", data: { n: 2 } } }))).toMatchObject({
    code: Code.NotFound,
    reason: "TEMPLATE_NOT_FOUND",
  });
  expect(
    await refusal(email.send({ accountId: 1, to: ["d@example.com"], template: { name: "gone", version: 1, data: { n: 2 } } })),
  ).toMatchObject({ code: Code.NotFound, reason: "TEMPLATE_NOT_FOUND" });
  const sent = await email.retryOutbox({ outboxId: before.outbox!.outboxId, force: true });
  expect(sent.outbox).toMatchObject({ status: OutboxStatus.SENT, subject: "Bye 1", templateName: "gone", templateVersion: 1 });
});

test("a template with a body of its own is refused; so are a bad name, unknown templates and oversized data", async () => {
  const to = ["e@example.com"];
  expect(await refusal(email.send({ accountId: 1, to, subject: "mine", template: { name: "echo", data: { topic: "x" } } }))).toMatchObject({
    code: Code.InvalidArgument,
    reason: "TEMPLATE_AND_BODY",
    fields: ["template"],
  });
  expect(
    await refusal(email.send({ accountId: 1, to, bodyHtml: "<p>x</p>", template: { name: "echo", data: { topic: "x" } } })),
  ).toMatchObject({ reason: "TEMPLATE_AND_BODY" });
  expect(await refusal(email.send({ accountId: 1, to, template: { name: "no such", data: {} } }))).toMatchObject({
    reason: "TEMPLATE_NAME_INVALID",
    fields: ["template.name"],
  });
  expect(await refusal(email.send({ accountId: 1, to, template: { name: "nothing-here" } }))).toMatchObject({
    code: Code.NotFound,
    reason: "TEMPLATE_NOT_FOUND",
  });
  expect(await refusal(email.send({ accountId: 1, to, template: { name: "echo", version: 9, data: { topic: "x" } } }))).toMatchObject({
    code: Code.NotFound,
  });
  expect(await refusal(email.send({ accountId: 1, to, template: { name: "echo", data: { topic: "x".repeat(300_000) } } }))).toMatchObject({
    reason: "TEMPLATE_DATA_TOO_LARGE",
    fields: ["template.data"],
  });
  // The rendered message obeys the plain rules: an empty subject is refused as one.
  await templates.createTemplate({ accountId: 1, name: "no-subject", content: { subject: "{{s}}", html: "", text: "t" } });
  expect(await refusal(email.send({ accountId: 1, to, template: { name: "no-subject", data: { s: " " } } }))).toMatchObject({
    reason: "REQUIRED_FIELD_EMPTY",
    fields: ["subject"],
  });
});

test("the same idempotency key and request replays its row after the template changed", async () => {
  await templates.createTemplate({ accountId: 1, name: "keyed", content: { subject: "k {{n}}", html: "", text: "k" } });
  const req = { accountId: 1, to: ["f@example.com"], template: { name: "keyed", data: { n: 1 } }, idempotencyKey: "tpl-key-1" };
  const first = await email.send(req);
  await templates.updateTemplate({ accountId: 1, name: "keyed", content: { subject: "changed {{n}}", html: "", text: "k" } });
  const again = await email.send(req);
  expect(again).toMatchObject({ idempotentReplay: true, outbox: { outboxId: first.outbox!.outboxId, subject: "k 1" } });
  expect(await refusal(email.send({ ...req, template: { name: "keyed", data: { n: 2 } } }))).toMatchObject({
    reason: "IDEMPOTENCY_KEY_REUSED",
  });
});

test("a SendBatch of 500 renders each message with its own data", { timeout: 120_000 }, async () => {
  await templates.createTemplate({
    accountId: 1,
    name: "hello-each",
    content: { subject: "Hello {{name}} #{{i}}", html: "<p>{{name}}</p>", text: "" },
  });
  const before = sink.messages.length;
  const { result: res, statements } = await statementsDuring(() =>
    email.sendBatch({
      messages: Array.from({ length: 500 }, (_, i) => ({
        accountId: 1,
        to: [`r${i}@example.com`],
        template: { name: "hello-each", data: { name: `Zoë ${i}`, i } },
      })),
    }),
  );
  expect(res.results.map((r) => batchError(r))).toEqual(res.results.map(() => undefined));
  // Which version to render was read once for the 500 messages.
  expect(statements.filter((sql) => sql.includes("AS layout_version"))).toHaveLength(1);
  const conn = await db();
  try {
    const [rows] = (await conn.query(
      "SELECT subject, body_text, body_html, template_version FROM outbox WHERE template_name = 'hello-each' ORDER BY id",
    )) as unknown as [{ subject: string; body_text: string; body_html: string; template_version: number }[]];
    expect(rows.map((r) => [r.subject, r.body_html, r.body_text, r.template_version])).toEqual(
      Array.from({ length: 500 }, (_, i) => [`Hello Zoë ${i} #${i}`, `<p>Zoë ${i}</p>`, `Zoë ${i}`, 1]),
    );
  } finally {
    await conn.end();
  }
  const got = await sink.waitFor(before + 500, 90_000);
  expect(new Set(got.slice(before).map((m) => m.parsed.subject)).size).toBe(500);
  // Per-message refusals stay per message.
  const mixed = await email.sendBatch({
    messages: [
      { accountId: 1, to: ["g@example.com"], template: { name: "hello-each", data: { name: "ok", i: 1 } } },
      { accountId: 1, to: ["g@example.com"], template: { name: "hello-each", data: { name: "no i" } } },
    ],
  });
  expect(mixed.results[0]!.result.case).toBe("outbox");
  expect(errorReason(batchError(mixed.results[1]!))).toBe("TEMPLATE_DATA_MISSING");
});

test("Reply renders the template's bodies and keeps the parent's subject", async () => {
  const mailbox = createClient(MailboxService, createGrpcTransport({ baseUrl: t.url }));
  const raw = Buffer.from(
    "From: Carol <carol@example.org>\r\nTo: sender1@example.com\r\nSubject: Question\r\nMessage-ID: <q1@example.org>\r\n\r\nhello\r\n",
  );
  await mailbox.ingestMessage({ accountId: 1, raw });
  await templates.createTemplate({
    accountId: 1,
    name: "answer",
    content: { subject: "ignored", html: "<p>Dear {{who}}, yes.</p>", text: "" },
  });
  const res = await email.reply({
    accountId: 1,
    inReplyToMessageId: "<q1@example.org>",
    template: { name: "answer", data: { who: "Carol" } },
    waitForAttempt: true,
  });
  expect(res.outbox).toMatchObject({ status: OutboxStatus.SENT, subject: "Re: Question", templateName: "answer" });
  const msg = sink.messages.find((m) => m.messageId === res.outbox!.messageId)!;
  expect(await partsWithMailparser(msg.raw)).toEqual({
    subject: "Re: Question",
    html: "<p>Dear Carol, yes.</p>",
    text: "Dear Carol, yes.",
  });
  expect(
    await refusal(
      email.reply({
        accountId: 1,
        inReplyToMessageId: "<q1@example.org>",
        bodyText: "x",
        template: { name: "answer", data: { who: "C" } },
      }),
    ),
  ).toMatchObject({ reason: "TEMPLATE_AND_BODY" });
});

test("grpc-js (Struct on the wire) and curl (Connect JSON) send with a template", async () => {
  const g = grpcJsClient(t.url);
  try {
    const data = { fields: { topic: { stringValue: "from grpc-js ✓" } } };
    const res = await g.unary<{ outbox: { subject: string; template_name: string } }>("Send", {
      account_id: 1,
      to: ["h@example.com"],
      template: { name: "echo", data },
    });
    expect(res.outbox).toMatchObject({ subject: "About from grpc-js ✓", template_name: "echo" });
  } finally {
    g.close();
  }
  const curl = await curlConnect(t.url, "Send", {
    accountId: 1,
    to: ["h@example.com"],
    template: { name: "echo", data: { topic: "from curl" } },
  });
  expect(curl.status).toBe(200);
  expect(curl.body).toMatchObject({ outbox: { subject: "About from curl", templateName: "echo", templateVersion: 1 } });
});
