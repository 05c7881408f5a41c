// What an SMTP rejection leaves the row as, end to end: a 4xx is FAILED with the backoff, a 5xx is
// DEAD at once, and the attempt past sender.max_attempts is DEAD too.
import { afterAll, beforeAll, expect, test } from "vitest";
import { OutboxStatus } from "../../gen/email/v1/outbox_pb.js";
import { emailClient, type EmailClient } from "../helpers/clients.js";
import { ManualClock } from "../helpers/clock.js";
import { sinkAccount, startTestApp, type TestApp } from "../helpers/app.js";
import { startSmtpSink, type SmtpSink } from "../helpers/smtp-sink.js";
import { rawMessageId, rowOf, waitForRow } from "./harness.js";

const T0 = 1_700_000_000_000;
const clock = new ManualClock(T0);
let transient: SmtpSink;
let permanent: SmtpSink;
let t: TestApp;
let client: EmailClient;
/** Message-IDs of every attempt the transient sink answered. */
const attempts: string[] = [];

beforeAll(async () => {
  transient = await startSmtpSink({
    script: (stage, ctx) => {
      if (stage !== "data") return undefined;
      attempts.push(rawMessageId(ctx.raw) ?? "?");
      return { code: 451, message: "4.3.0 Mailbox busy, try later" };
    },
  });
  permanent = await startSmtpSink({
    script: (stage) => (stage === "data" ? { code: 550, message: "5.7.1 Rejected by policy" } : undefined),
  });
  // The poll is far off: the sender looks only when woken (by Send, or by the test).
  t = await startTestApp({
    label: "failure_outcomes",
    clock,
    json: {
      accounts: [sinkAccount(1, transient.port), sinkAccount(2, permanent.port)],
      message_id_domain: "mail.test",
      sender: { max_attempts: 3, poll_interval_ms: 600_000 },
    },
  });
  client = emailClient(t.url);
});
afterAll(async () => {
  await t?.close();
  await Promise.all([transient?.close(), permanent?.close()]);
});

function send(accountId: number) {
  return client.send({ accountId, to: ["bob@example.com"], subject: "s", bodyText: "b", waitForAttempt: true });
}

test("a 451 leaves the row FAILED with retries 1, due in 10 s, and the server's text", async () => {
  const { outbox } = await send(1);
  expect(outbox).toMatchObject({ status: OutboxStatus.FAILED, retries: 1, lastErrorClass: "SMTP_TRANSIENT", providerMessageId: "" });
  expect(outbox!.lastError).toContain("451 4.3.0 Mailbox busy, try later");
  const row = await rowOf(t.app.pool, outbox!.outboxId);
  expect(row).toMatchObject({ status: "failed", retries: 1, nextAttemptAt: T0 + 10_000, messageId: `<outbox-${row.id}-0@mail.test>` });
  expect(attempts).toContain(`<outbox-${row.id}-0@mail.test>`);
});

test("a 550 is DEAD at once, with no next attempt", async () => {
  const { outbox } = await send(2);
  expect(outbox).toMatchObject({ status: OutboxStatus.DEAD, retries: 1, lastErrorClass: "SMTP_PERMANENT" });
  expect(outbox!.lastError).toContain("550 5.7.1 Rejected by policy");
  expect(await rowOf(t.app.pool, outbox!.outboxId)).toMatchObject({ status: "dead", nextAttemptAt: null });
  expect(permanent.messages).toHaveLength(0);
});

test("with max_attempts 3 the third transient failure is DEAD; each attempt has its own Message-ID", async () => {
  const { outbox } = await send(1);
  const id = Number(outbox!.outboxId);
  expect(outbox).toMatchObject({ status: OutboxStatus.FAILED, retries: 1 });

  // due exactly at next_attempt_at: the sender claims it when woken then
  clock.set((await rowOf(t.app.pool, id)).nextAttemptAt!);
  t.app.sender.wake();
  await waitForRow(t.app.pool, id, { status: "failed", retries: 2, nextAttemptAt: clock.now() + 20_000 });

  clock.advance(20_000);
  t.app.sender.wake();
  const dead = await waitForRow(t.app.pool, id, { status: "dead", retries: 3, nextAttemptAt: null, lastErrorClass: "SMTP_TRANSIENT" });
  expect(dead.lastError).toContain("451");
  expect(attempts.filter((m) => m.startsWith(`<outbox-${id}-`))).toEqual([0, 1, 2].map((n) => `<outbox-${id}-${n}@mail.test>`));
});
