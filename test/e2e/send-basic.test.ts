import { afterAll, beforeAll, expect, test } from "vitest";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { EmailService } from "../../gen/email/v1/email_service_pb.js";
import { OutboxStatus } from "../../gen/email/v1/outbox_pb.js";
import { startSmtpSink, type SmtpSink } from "../helpers/smtp-sink.js";
import { sinkAccount, startTestApp, type TestApp } from "../helpers/app.js";

let sink: SmtpSink;
let t: TestApp;

beforeAll(async () => {
  sink = await startSmtpSink();
  t = await startTestApp({ label: "send_basic", json: { accounts: [sinkAccount(1, sink.port)], message_id_domain: "mail.test" } });
});
afterAll(async () => {
  await t?.close();
  await sink?.close();
});

test("a Send over Connect JSON reaches the SMTP server with From, To, Subject and Message-ID", async () => {
  const client = createClient(EmailService, createConnectTransport({ baseUrl: t.url, httpVersion: "1.1" }));
  const res = await client.send({
    accountId: 1,
    to: ["Bob <bob@example.com>"],
    subject: "你好",
    bodyText: "消息正文。",
    waitForAttempt: true,
  });
  expect(res.outbox?.status).toBe(OutboxStatus.SENT);
  const [msg] = await sink.waitFor(1);
  expect(msg!.parsed.subject).toBe("你好");
  expect(msg!.messageId).toBe(`<outbox-${res.outbox!.outboxId}-0@mail.test>`);
  expect(msg!.envelope.to).toEqual(["bob@example.com"]);
  expect(msg!.header("from")).toBe("Account 1 <sender1@example.com>");
});
