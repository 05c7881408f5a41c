// Redaction over the real path: a 550 from a real SMTP server keeps every word when the account's
// password is `x` (no "mailbo[redacted]" giving the password away), while a reply that echoes a
// password — `x` as a token, a long one inside a token — has it replaced in the stored error, the
// answers and the events.
import { afterAll, beforeAll, expect, test } from "vitest";
import { EmailService } from "../../gen/email/v1/email_service_pb.js";
import { OutboxStatus } from "../../gen/email/v1/outbox_pb.js";
import { REDACTED } from "../../src/delivery/remote-text.js";
import { sinkAccount, startTestApp, type TestApp } from "../helpers/app.js";
import { startSmtpSink, type SmtpSink } from "../helpers/smtp-sink.js";
import { keyedClient, testKey } from "./keys.js";

const SHORT = "x";
const LONG = "Long-Password-Echoed-9dQv".padEnd(64, "7");
const UNAVAILABLE = "5.1.1 <user@example.com>: mailbox unavailable";
const key = testKey("ops", "*");

let short: SmtpSink;
let long: SmtpSink;
let t: TestApp;

/** A sink that knows `password`, refuses user@ with UNAVAILABLE and echo@ with the password in its words. */
function sink(password: string, echo: string) {
  return startSmtpSink({
    auth: { user: "real", password },
    script: (stage, ctx) => {
      if (stage !== "rcptTo") return undefined;
      if (ctx.address === "user@example.com") return { code: 550, message: UNAVAILABLE };
      if (ctx.address === "echo@example.com") return { code: 550, message: echo };
      return undefined;
    },
  });
}

beforeAll(async () => {
  short = await sink(SHORT, `5.7.1 mailbox of user real refused (password "${SHORT}")`);
  long = await sink(LONG, `5.7.1 mailbox refused for real:${LONG}@relay.example.com`);
  t = await startTestApp({
    label: "short_secrets",
    json: {
      api_keys: [key.entry],
      accounts: [
        sinkAccount(1, short.port, { user: "real", auth: { password: SHORT } }),
        sinkAccount(2, long.port, { user: "real", auth: { password: LONG } }),
      ],
    },
  });
});
afterAll(async () => {
  await t?.close();
  await short?.close();
  await long?.close();
});

test("a short password leaves a server's words intact; an echoed password is replaced", async () => {
  const client = keyedClient(EmailService, t.url, key.key);
  const send = async (accountId: number, to: string) =>
    (await client.send({ accountId, to: [to], subject: "s", bodyText: "b", waitForAttempt: true })).outbox!;
  const rows = [await send(1, "user@example.com"), await send(1, "echo@example.com"), await send(2, "echo@example.com")];
  expect(rows.map((r) => r.status)).toEqual([OutboxStatus.DEAD, OutboxStatus.DEAD, OutboxStatus.DEAD]);

  const stored = await Promise.all(rows.map(async (r) => (await client.getOutbox({ outboxId: r.outboxId })).outbox!.lastError));
  const events = new Map<bigint, string>();
  for await (const item of client.watchOutbox({ includeCurrent: true }, { signal: AbortSignal.timeout(5_000) })) {
    if (item.message.case === "event" && item.message.value.error) events.set(item.message.value.outboxId, item.message.value.error);
    if (item.message.case === "heartbeat") break;
  }
  // Each row's error as stored (GetOutbox) and as its event carried it.
  const errorsOf = (i: number) => [stored[i], events.get(rows[i]!.outboxId)];

  for (const error of errorsOf(0)) {
    expect(error).toContain(`550 ${UNAVAILABLE}`);
    expect(error).not.toContain(REDACTED);
  }
  for (const error of errorsOf(1)) expect(error).toContain(`550 5.7.1 mailbox of user real refused (password "${REDACTED}")`);
  for (const error of errorsOf(2)) expect(error).toContain(`550 5.7.1 mailbox refused for real:${REDACTED}@relay.example.com`);
  expect(JSON.stringify([stored, [...events.values()], t.logs])).not.toContain(LONG);
});
