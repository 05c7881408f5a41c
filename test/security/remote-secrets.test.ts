// An SMTP server that echoes what it was sent — the password, the OAuth token, the base64 AUTH
// exchange, a key-shaped token, a 3,000-character reply — has every secret replaced and its text
// bounded in last_error, provider_message_id, the answers and the logs.
import { afterAll, beforeAll, expect, test } from "vitest";
import { EmailService } from "../../gen/email/v1/email_service_pb.js";
import { OutboxStatus } from "../../gen/email/v1/outbox_pb.js";
import { generateKey } from "../../src/api/auth/keys.js";
import { MAX_REMOTE_TEXT } from "../../src/delivery/remote-text.js";
import { sinkAccount, startTestApp, type TestApp } from "../helpers/app.js";
import { startSmtpSink, type SmtpSink } from "../helpers/smtp-sink.js";
import { keyedClient, testKey } from "./keys.js";

const WRONG_PASSWORD = "Wrong-Pw-Echoed-3vQ9";
const WRONG_TOKEN = "ya29.Wrong-Token-Echoed-Lk2p";
const REAL_PASSWORD = "Real-Pw-Echoed-On-250-Zt7";
const KEY_SHAPED = generateKey();
const b64 = (s: string) => Buffer.from(s).toString("base64");
const key = testKey("ops", "*");

let sink: SmtpSink;
let t: TestApp;

beforeAll(async () => {
  sink = await startSmtpSink({
    auth: { user: "real", password: REAL_PASSWORD },
    authFailureText: (a) =>
      `5.7.8 authentication failed for |${a.username}|${a.password ?? a.accessToken} ` +
      `(you sent ${b64(`\0${a.username}\0${a.password ?? ""}`)} / ${b64(`user=${a.username}\x01auth=Bearer ${a.accessToken ?? ""}\x01\x01`)})`,
    script: (stage, ctx) => {
      if (stage === "rcptTo" && ctx.address?.startsWith("echo")) return { code: 450, message: `4.2.0 ${KEY_SHAPED} ${"x".repeat(3000)}` };
      if (stage === "data") return { code: 250, message: `queued; welcome real:${REAL_PASSWORD}` };
      return undefined;
    },
  });
  t = await startTestApp({
    label: "remote_secrets",
    json: {
      api_keys: [key.entry],
      accounts: [
        sinkAccount(1, sink.port, { user: "real", auth: { password: WRONG_PASSWORD } }),
        sinkAccount(2, sink.port, { user: "real", auth: { oauth_token: WRONG_TOKEN } }),
        sinkAccount(3, sink.port, { user: "real", auth: { password: REAL_PASSWORD } }),
      ],
    },
  });
});
afterAll(async () => {
  await t?.close();
  await sink?.close();
});

test("no echoed secret is stored, answered or logged, and remote text is bounded", async () => {
  const client = keyedClient(EmailService, t.url, key.key);
  const send = (accountId: number, to: string) => client.send({ accountId, to: [to], subject: "s", bodyText: "b", waitForAttempt: true });
  const byPassword = (await send(1, "bob@example.com")).outbox!;
  const byToken = (await send(2, "bob@example.com")).outbox!;
  const long = (await send(3, "echo@example.com")).outbox!;
  const sent = (await send(3, "bob@example.com")).outbox!;
  expect([byPassword.status, byToken.status, long.status, sent.status]).toEqual([
    OutboxStatus.FAILED,
    OutboxStatus.FAILED,
    OutboxStatus.FAILED,
    OutboxStatus.SENT,
  ]);

  expect(byPassword.lastError).toContain("authentication failed for |real|[redacted]");
  expect(byToken.lastError).toContain("authentication failed for |real|[redacted]");
  expect(long.lastError.length).toBeLessThanOrEqual(MAX_REMOTE_TEXT + 1);
  expect(sent.providerMessageId).toBe("smtp-queued; welcome real:[redacted]");

  const secrets = [
    WRONG_PASSWORD,
    WRONG_TOKEN,
    REAL_PASSWORD,
    KEY_SHAPED,
    b64(`\0real\0${WRONG_PASSWORD}`),
    b64(`user=real\x01auth=Bearer ${WRONG_TOKEN}\x01\x01`).replace(/=+$/, ""),
  ];
  const answers = await Promise.all(
    [byPassword, byToken, long, sent].map(async (o) => (await client.getOutbox({ outboxId: o.outboxId })).outbox),
  );
  const events: string[] = [];
  for await (const item of client.watchOutbox({ includeCurrent: true }, { signal: AbortSignal.timeout(5_000) })) {
    if (item.message.case === "event") events.push(item.message.value.error, item.message.value.providerMessageId);
    if (item.message.case === "heartbeat") break;
  }
  const everything = JSON.stringify([answers.map((a) => [a?.lastError, a?.providerMessageId]), events, t.logs]);
  for (const secret of secrets) expect(everything, secret).not.toContain(secret);
});
