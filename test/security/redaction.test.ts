// Logs never hold a password, an OAuth token, an API key or a message body, and addresses in them
// are redacted: a whole path (send, fail on SMTP auth, retry, watch, a refused key, a rejected
// recipient) runs with distinctive secrets, then every captured log line is searched for them.
import { afterAll, beforeAll, expect, test } from "vitest";
import { Code } from "@connectrpc/connect";
import { EmailService, OutboxEventKind } from "../../gen/email/v1/email_service_pb.js";
import { OutboxStatus } from "../../gen/email/v1/outbox_pb.js";
import { generateKey } from "../../src/api/auth/keys.js";
import { sinkAccount, startTestApp, type TestApp } from "../helpers/app.js";
import { refusal } from "../helpers/refusal.js";
import { startSmtpSink, type SmtpSink } from "../helpers/smtp-sink.js";
import { keyedClient, testKey } from "./keys.js";

const SMTP_PASSWORD = "Pw-Distinctive-7Qx2-password";
const OAUTH_TOKEN = "ya29.Distinctive-OAuth-Token-k8Zr";
const BODY = "Body-Marker-Confidential-91f3 quarterly numbers";
const HTML = "<p>Html-Marker-Confidential-5d2e</p>";
const RECIPIENT = "Carol.Recipient@example.org";
const key = testKey("ops", "*");
const wrongKey = generateKey();
const SECRETS = [
  SMTP_PASSWORD,
  OAUTH_TOKEN,
  key.key,
  wrongKey,
  "Body-Marker-Confidential-91f3",
  "Html-Marker-Confidential-5d2e",
  RECIPIENT.toLowerCase(),
];

let sink: SmtpSink;
let t: TestApp;

beforeAll(async () => {
  // The sink knows other credentials, so both accounts fail at AUTH; the third logs in and has
  // its recipient rejected with the address in the reply.
  sink = await startSmtpSink({
    auth: { user: "real", password: "the-real-one", oauthToken: "the-real-token" },
    script: (stage, ctx) => (stage === "rcptTo" ? { code: 550, message: `5.1.1 <${ctx.address}>: no such user` } : undefined),
  });
  t = await startTestApp({
    label: "redaction",
    json: {
      api_keys: [key.entry],
      accounts: [
        sinkAccount(1, sink.port, { user: "real", auth: { password: SMTP_PASSWORD } }),
        sinkAccount(2, sink.port, { user: "real", auth: { oauth_token: OAUTH_TOKEN } }),
        sinkAccount(3, sink.port, { user: "real", auth: { password: "the-real-one" } }),
      ],
    },
  });
});
afterAll(async () => {
  await t?.close();
  await sink?.close();
});

test("no secret, body or full address reaches the logs", async () => {
  const client = keyedClient(EmailService, t.url, key.key);
  const ac = new AbortController();
  const watched: OutboxEventKind[] = [];
  const watching = (async () => {
    for await (const item of client.watchOutbox({ accountId: 1 }, { signal: ac.signal })) {
      if (item.message.case === "event") watched.push(item.message.value.kind);
    }
  })().catch(() => undefined);

  const message = {
    to: [`Carol <${RECIPIENT}>`],
    cc: [RECIPIENT],
    subject: "report",
    bodyText: BODY,
    bodyHtml: HTML,
    waitForAttempt: true,
  };
  const byPassword = await client.send({ accountId: 1, ...message });
  const byToken = await client.send({ accountId: 2, ...message });
  const rejected = await client.send({ accountId: 3, ...message });
  expect([byPassword.outbox?.status, byToken.outbox?.status, rejected.outbox?.status]).toEqual([
    OutboxStatus.FAILED,
    OutboxStatus.FAILED,
    OutboxStatus.DEAD,
  ]);
  const retried = await client.retryOutbox({ outboxId: byPassword.outbox!.outboxId, force: true });
  expect(retried.outbox?.retries).toBe(2);
  const refused = await refusal(keyedClient(EmailService, t.url, wrongKey).getOutbox({ outboxId: 1n }));
  expect(refused.code).toBe(Code.Unauthenticated);

  // The watch saw the whole path of account 1's row: created, sending, failed, retried, ...
  await expect.poll(() => watched.filter((k) => k === OutboxEventKind.FAILED).length).toBe(2);
  ac.abort();
  await watching;

  const logs = JSON.stringify(t.logs).toLowerCase();
  for (const secret of SECRETS) expect(logs, secret).not.toContain(secret.toLowerCase());
  // The rejection reached the logs, with the address in its redacted form.
  const failure = t.logs.find((l) => l.msg === "attempt failed" && l.account_id === 3);
  expect(failure?.error).toBe("550 5.1.1 <C***@example.org>: no such user");
  expect(t.logs.some((l) => l.msg === "request refused" && l.reason === "API_KEY_INVALID")).toBe(true);
});
