// Every client path reaches a real SMTP server through the one port, with the right From, To,
// Subject and Message-ID: connect-node (gRPC, gRPC-Web, Connect), connect-web (fetch), grpc-js,
// curl (Connect JSON) and buf curl (gRPC with reflection).
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { OutboxStatus } from "../../gen/email/v1/outbox_pb.js";
import { startSmtpSink, type ReceivedMessage, type SmtpSink } from "../helpers/smtp-sink.js";
import { sinkAccount, startTestApp, type TestApp } from "../helpers/app.js";
import { bufCurlEmail, curlConnect, emailClient, grpcJsClient, TRANSPORTS, type TransportName } from "../helpers/clients.js";

const DOMAIN = "mail.test";
let sink: SmtpSink;
let t: TestApp;

beforeAll(async () => {
  sink = await startSmtpSink();
  t = await startTestApp({ label: "api_clients", json: { accounts: [sinkAccount(1, sink.port)], message_id_domain: DOMAIN } });
});
afterAll(async () => {
  await t?.close();
  await sink?.close();
});

/** The message the sink received for outbox row `id`'s first attempt. */
function received(id: bigint | string): ReceivedMessage {
  const messageId = `<outbox-${String(id)}-0@${DOMAIN}>`;
  const msg = sink.messages.find((m) => m.messageId === messageId);
  if (!msg) throw new Error(`the sink has no message ${messageId}`);
  return msg;
}

/** From, To and Subject as the recipient sees them, and the envelope recipient. */
function expectDelivered(msg: ReceivedMessage, subject: string): void {
  expect(msg.header("from")).toBe("Account 1 <sender1@example.com>");
  expect(msg.header("to")).toBe("Bob <bob@example.com>");
  expect(msg.envelope).toEqual({ from: "sender1@example.com", to: ["bob@example.com"] });
  expect(msg.parsed.subject).toBe(subject);
}

describe.each(Object.keys(TRANSPORTS) as TransportName[])("%s", (name) => {
  test("Send reaches the SMTP server", async () => {
    const subject = `via ${name}`;
    const res = await emailClient(t.url, name).send({
      accountId: 1,
      to: ["Bob <bob@example.com>"],
      subject,
      bodyText: "hello",
      waitForAttempt: true,
    });
    const outbox = res.outbox!;
    expect(outbox.status).toBe(OutboxStatus.SENT);
    expect(outbox.messageId).toBe(`<outbox-${outbox.outboxId}-0@${DOMAIN}>`);
    expect(outbox.providerMessageId).toMatch(/^smtp-/);
    expectDelivered(received(outbox.outboxId), subject);
  });
});

test("grpc-js with proto-loader on the same .proto: Send reaches the SMTP server", async () => {
  const client = grpcJsClient(t.url);
  try {
    const subject = "via grpc-js";
    const res = await client.unary<{ outbox: { outbox_id: string; status: string; message_id: string } }>("Send", {
      account_id: 1,
      to: ["Bob <bob@example.com>"],
      subject,
      body_text: "hello",
      wait_for_attempt: true,
    });
    expect(res.outbox.status).toBe("OUTBOX_STATUS_SENT");
    expect(res.outbox.message_id).toBe(`<outbox-${res.outbox.outbox_id}-0@${DOMAIN}>`);
    expectDelivered(received(res.outbox.outbox_id), subject);
  } finally {
    client.close();
  }
});

test("curl posting Connect JSON: Send reaches the SMTP server", async () => {
  const subject = "via curl";
  const { status, body } = await curlConnect(t.url, "Send", {
    accountId: 1,
    to: ["Bob <bob@example.com>"],
    subject,
    bodyText: "hello",
    waitForAttempt: true,
  });
  expect(status).toBe(200);
  const outbox = body.outbox as { outboxId: string; status: string };
  expect(outbox.status).toBe("OUTBOX_STATUS_SENT");
  expectDelivered(received(outbox.outboxId), subject);
});

test("curl gets a Connect JSON error for a bad request", async () => {
  const { status, body } = await curlConnect(t.url, "Send", { accountId: 1, to: [], subject: "x", bodyText: "y" });
  expect(status).toBe(400);
  expect(body).toMatchObject({ code: "invalid_argument", message: "to/subject/body_text cannot be empty" });
});

test("buf curl over gRPC with reflection: Send reaches the SMTP server", async () => {
  const subject = "via buf curl";
  const body = await bufCurlEmail(t.url, "Send", {
    accountId: 1,
    to: ["Bob <bob@example.com>"],
    subject,
    bodyText: "hello",
    waitForAttempt: true,
  });
  const outbox = body.outbox as { outboxId: string; status: string };
  expect(outbox.status).toBe("OUTBOX_STATUS_SENT");
  expectDelivered(received(outbox.outboxId), subject);
});

test("one keep-alive HTTP/1.1 connection serves many calls without piling up socket listeners", async () => {
  const warnings: Error[] = [];
  const onWarning = (w: Error) => warnings.push(w);
  process.on("warning", onWarning);
  try {
    const client = emailClient(t.url, "connect-node Connect (HTTP/1.1)");
    for (let i = 0; i < 30; i++) await client.listOutbox({ pageSize: 1 });
    await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on a later tick
  } finally {
    process.off("warning", onWarning);
  }
  expect(warnings.filter((w) => w.name === "MaxListenersExceededWarning")).toEqual([]);
});
