// Internationalised domains are accepted and travel as punycode, in the SMTP envelope and in
// the headers; the stored row and the API show the same normal form.
import { afterAll, beforeAll, expect, test } from "vitest";
import { EmailService } from "../../gen/email/v1/email_service_pb.js";
import { OutboxStatus } from "../../gen/email/v1/outbox_pb.js";
import { sinkAccount, startTestApp, type TestApp } from "../helpers/app.js";
import { startSmtpSink, type SmtpSink } from "../helpers/smtp-sink.js";
import { keyedClient, testKey } from "./keys.js";
import { recordSmtpWire, type WireRecorder } from "./smtp-wire.js";

const key = testKey("idn", [1, 2], ["send"]);
let sink: SmtpSink;
let wire: WireRecorder;
let t: TestApp;

beforeAll(async () => {
  sink = await startSmtpSink();
  wire = await recordSmtpWire();
  t = await startTestApp({
    label: "idn",
    json: { accounts: [sinkAccount(1, sink.port), sinkAccount(2, wire.port)], api_keys: [key.entry] },
  });
});
afterAll(async () => {
  await t?.close();
  await sink?.close();
  await wire?.close();
});

const IDN_REQUEST = {
  to: ["Jürgen <juergen@bücher.de>"],
  cc: ["info@例え.テスト", "bob@ＥＸＡＭＰＬＥ.com"],
  bcc: ["x@☃.net"],
  replyTo: "support@straße.de",
  subject: "IDN",
  bodyText: "x",
};

test("the SMTP envelope carries IDN recipients as punycode", async () => {
  const res = await keyedClient(EmailService, t.url, key.key).send({ accountId: 2, ...IDN_REQUEST });
  expect(res.outbox?.to).toEqual(['"Jürgen" <juergen@xn--bcher-kva.de>']);
  await wire.accepted;
  expect(wire.commands.filter((c) => c.startsWith("RCPT TO:"))).toEqual([
    "RCPT TO:<juergen@xn--bcher-kva.de>",
    "RCPT TO:<info@xn--r8jz45g.xn--zckzah>",
    "RCPT TO:<bob@example.com>",
    "RCPT TO:<x@xn--n3h.net>",
  ]);
});

test("the headers carry them as punycode too, and a real SMTP server reads them back", async () => {
  const res = await keyedClient(EmailService, t.url, key.key).send({ accountId: 1, ...IDN_REQUEST, waitForAttempt: true });
  expect(res.outbox?.status).toBe(OutboxStatus.SENT);
  const [msg] = await sink.waitFor(1);
  // smtp-server reports the envelope decoded back to Unicode.
  expect(msg!.envelope.to).toEqual(["juergen@bücher.de", "info@例え.テスト", "bob@example.com", "x@☃.net"]);
  expect(msg!.header("to")).toBe("=?UTF-8?Q?J=C3=BCrgen?= <juergen@xn--bcher-kva.de>");
  expect(msg!.header("cc")).toBe("info@xn--r8jz45g.xn--zckzah, bob@example.com");
  expect(msg!.header("reply-to")).toBe("support@xn--strae-oqa.de");
  expect(msg!.header("bcc")).toBeUndefined();
});
