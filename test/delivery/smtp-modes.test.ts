// Delivery through the service over each TLS and AUTH mode the config offers, and a wrong
// password: a transient AUTH failure whose secret never reaches a log line or the row.
import { afterAll, beforeAll, expect, test } from "vitest";
import { OutboxStatus } from "../../gen/email/v1/outbox_pb.js";
import { emailClient, type EmailClient } from "../helpers/clients.js";
import { sinkAccount, startTestApp, type TestApp } from "../helpers/app.js";
import { startSmtpSink, type SinkOptions, type SmtpSink } from "../helpers/smtp-sink.js";
import { rowOf } from "./harness.js";

const PASSWORD = "pl41n-Secret-horse";
const TOKEN = "ya29.oauth-Token-battery";
const WRONG = "Wr0ng-Secret-staple";
const SECRETS = [PASSWORD, TOKEN, WRONG];

/** Per account: the sink it talks to and its smtp settings on top of sinkAccount's. */
const MODES: Record<number, { sink: SinkOptions; smtp: Record<string, unknown> }> = {
  1: {
    sink: { tls: "starttls", auth: { user: "mailer", password: PASSWORD } },
    smtp: { tls: "starttls", user: "mailer", auth: { password: PASSWORD }, tls_reject_unauthorized: false },
  },
  2: { sink: { tls: "implicit" }, smtp: { tls: "implicit", tls_reject_unauthorized: false } },
  3: {
    sink: { tls: "starttls", auth: { user: "oauth@example.com", oauthToken: TOKEN } },
    smtp: { tls: "starttls", user: "oauth@example.com", auth: { oauth_token: TOKEN }, tls_reject_unauthorized: false },
  },
  4: {
    sink: { tls: "starttls", auth: { user: "mailer", password: PASSWORD } },
    smtp: { tls: "starttls", user: "mailer", auth: { password: WRONG }, tls_reject_unauthorized: false },
  },
};

const sinks = new Map<number, SmtpSink>();
let t: TestApp;
let client: EmailClient;

beforeAll(async () => {
  for (const [id, mode] of Object.entries(MODES)) sinks.set(Number(id), await startSmtpSink(mode.sink));
  t = await startTestApp({
    label: "smtp_modes",
    json: {
      accounts: Object.entries(MODES).map(([id, mode]) => sinkAccount(Number(id), sinks.get(Number(id))!.port, mode.smtp)),
      message_id_domain: "mail.test",
    },
  });
  client = emailClient(t.url);
});
afterAll(async () => {
  await t?.close();
  await Promise.all([...sinks.values()].map((s) => s.close()));
});

async function deliver(accountId: number) {
  const { outbox } = await client.send({
    accountId,
    to: ["bob@example.com"],
    subject: `via ${accountId}`,
    bodyText: "b",
    waitForAttempt: true,
  });
  expect(outbox?.status).toBe(OutboxStatus.SENT);
  const [msg] = await sinks.get(accountId)!.waitFor(1);
  expect(msg!.messageId).toBe(`<outbox-${outbox!.outboxId}-0@mail.test>`);
  expect(msg!.secure).toBe(true);
  return msg!;
}

test("STARTTLS + AUTH PLAIN", async () => {
  expect((await deliver(1)).user).toBe("mailer");
  expect(sinks.get(1)!.authLog).toEqual([{ method: "PLAIN", user: "mailer" }]);
});

test("implicit TLS on the given port", async () => {
  expect((await deliver(2)).user).toBeUndefined();
  expect(sinks.get(2)!.secure).toBe(true);
});

test("XOAUTH2 with the configured token", async () => {
  expect((await deliver(3)).user).toBe("oauth@example.com");
  expect(sinks.get(3)!.authLog).toEqual([{ method: "XOAUTH2", user: "oauth@example.com" }]);
});

test("a wrong password is a transient AUTH failure, and no secret is logged or stored", async () => {
  const { outbox } = await client.send({ accountId: 4, to: ["bob@example.com"], subject: "s", bodyText: "b", waitForAttempt: true });
  expect(outbox).toMatchObject({ status: OutboxStatus.FAILED, retries: 1, lastErrorClass: "AUTH" });
  expect(outbox!.lastError).toMatch(/535/);
  expect(sinks.get(4)!.messages).toHaveLength(0);
  const row = await rowOf(t.app.pool, outbox!.outboxId);
  expect(row).toMatchObject({ status: "failed", retries: 1 });
  expect(row.nextAttemptAt).toBeGreaterThan(row.updatedAt);

  // the failure was logged (so the check below looked at the line that could leak)
  expect(t.logs.some((l) => l.outbox_id === row.id && l.error_class === "AUTH")).toBe(true);
  const logged = JSON.stringify(t.logs);
  for (const secret of SECRETS) {
    expect(logged).not.toContain(secret);
    expect(row.lastError).not.toContain(secret);
  }
});
