// Retention deletes exactly the finished rows (sent, cancelled, dead) whose last change is older
// than retention.outbox_ms, with their attachments and events, in small batches, and skips a row
// someone holds instead of waiting for it. Time is a ManualClock.
import { afterAll, beforeAll, expect, test } from "vitest";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { FailureMode, OutboxStatus } from "../../gen/email/v1/outbox_pb.js";
import { getOutbox } from "../../src/outbox/store.js";
import { claimDue, finalize } from "../../src/outbox/claims.js";
import { FINISHED_BEFORE_SQL } from "../../src/outbox/retention.js";
import { enqueueMany, lease, openOutboxDb } from "../outbox/outbox-db.js";
import { emailClient, type EmailClient } from "../helpers/clients.js";
import { ManualClock } from "../helpers/clock.js";
import { sinkAccount, startTestApp, type TestApp } from "../helpers/app.js";
import { startSmtpSink, type SmtpSink } from "../helpers/smtp-sink.js";
import { scrape, total } from "./scrape.js";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { MailboxService } from "../../gen/email/v1/mailbox_service_pb.js";
import { refusal } from "../helpers/refusal.js";

const DAY = 24 * 3_600_000;
const clock = new ManualClock(Date.parse("2030-03-01T00:00:00Z"));
let sink: SmtpSink;
let t: TestApp;
let client: EmailClient;

beforeAll(async () => {
  sink = await startSmtpSink();
  t = await startTestApp({
    label: "ops_retention",
    clock,
    json: {
      accounts: [sinkAccount(1, sink.port)],
      allow_failure_mode: true,
      retention: { outbox_ms: DAY, mail_message_ms: 2 * DAY, batch_size: 2 },
      watch: { event_retention_ms: DAY },
    },
  });
  client = emailClient(t.url);
});
afterAll(async () => {
  await t?.close();
  await sink?.close();
});

async function send(opts: { failureMode?: FailureMode; sendAt?: number; attachment?: boolean } = {}): Promise<number> {
  const res = await client.send({
    accountId: 1,
    to: ["rcpt@example.com"],
    subject: "s",
    bodyText: "b",
    waitForAttempt: true,
    failureMode: opts.failureMode ?? FailureMode.UNSPECIFIED,
    sendAt: opts.sendAt === undefined ? undefined : timestampFromMs(opts.sendAt),
    attachments: opts.attachment ? [{ filename: "a.txt", contentType: "text/plain", content: Buffer.from("attached") }] : [],
  });
  return Number(res.outbox!.outboxId);
}

async function cancelled(): Promise<number> {
  const id = await send({ sendAt: clock.now() + 10 * DAY });
  expect((await client.cancelOutbox({ outboxId: BigInt(id) })).outbox?.status).toBe(OutboxStatus.CANCELLED);
  return id;
}

async function count(sql: string, ids: number[]): Promise<number> {
  const [rows] = (await t.app.pool.query(sql, [ids])) as unknown as [{ n: number }[]];
  return Number(rows[0]!.n);
}

test("only finished rows past retention go, with their attachments and events", async () => {
  const sentOld = [await send(), await send({ attachment: true }), await send()];
  const deadOld = await send({ failureMode: FailureMode.PROVIDER });
  const cancelledOld = await cancelled();
  const failedOld = await send({ failureMode: FailureMode.NETWORK });
  const scheduledOld = await send({ sendAt: clock.now() + 100 * DAY });
  const gone = [...sentOld, deadOld, cancelledOld];
  expect(await getOutbox(t.app.pool, deadOld)).toMatchObject({ status: "dead" });
  expect(await getOutbox(t.app.pool, failedOld)).toMatchObject({ status: "failed" });
  expect(await count("SELECT COUNT(*) AS n FROM outbox_attachment_chunk WHERE outbox_id IN (?)", sentOld)).toBeGreaterThan(0);

  clock.advance(DAY + 60_000);
  const sentYoung = await send();
  const cancelledYoung = await cancelled();
  // A row that was old when it was created but changed just now is young.
  await client.cancelOutbox({ outboxId: BigInt(scheduledOld) });
  const kept = [failedOld, scheduledOld, sentYoung, cancelledYoung];

  expect(await t.app.retention.runOnce()).toBe(gone.length);
  for (const id of gone) expect(await getOutbox(t.app.pool, id), `row ${id}`).toBeUndefined();
  for (const id of kept) expect(await getOutbox(t.app.pool, id), `row ${id}`).toBeDefined();
  expect(await count("SELECT COUNT(*) AS n FROM outbox_attachment WHERE outbox_id IN (?)", gone)).toBe(0);
  expect(await count("SELECT COUNT(*) AS n FROM outbox_attachment_chunk WHERE outbox_id IN (?)", gone)).toBe(0);
  expect(await count("SELECT COUNT(*) AS n FROM outbox_event WHERE outbox_id IN (?)", gone)).toBe(0);
  // Events of the rows that stay are the event pruner's business, not this one's.
  expect(await count("SELECT COUNT(*) AS n FROM outbox_event WHERE outbox_id IN (?)", kept)).toBeGreaterThan(0);

  expect(await t.app.retention.runOnce()).toBe(0);
  expect(total(await scrape(t.url), "email_outbox_retention_deleted_total")).toBe(gone.length);
  expect(t.logs.filter((l) => l.msg === "deleted finished outbox rows past retention").map((l) => l.deleted)).toEqual([gone.length]);
});

test("a finished row someone holds is skipped, not waited for, and goes on a later pass", async () => {
  const held = await send({ failureMode: FailureMode.PROVIDER });
  const other = await send();
  clock.advance(DAY + 60_000);

  // As RetryOutbox does for a dead row: lock it in an open transaction.
  const conn = await t.app.pool.getConnection();
  try {
    await conn.beginTransaction();
    await conn.query("SELECT id FROM outbox WHERE id = ? FOR UPDATE", [held]);
    // Waiting for the lock would take innodb_lock_wait_timeout (50 s), beyond this test's timeout.
    const deleted = await t.app.retention.runOnce();
    expect(deleted).toBeGreaterThanOrEqual(1);
    expect(await getOutbox(t.app.pool, other)).toBeUndefined();
    expect(await getOutbox(t.app.pool, held)).toBeDefined();
    await conn.commit();
  } finally {
    conn.release();
  }
  expect(await t.app.retention.runOnce()).toBeGreaterThanOrEqual(1);
  expect(await getOutbox(t.app.pool, held)).toBeUndefined();
}, 20_000);

test("the retention query reads idx_outbox_finished, not the whole table", async () => {
  const o = await openOutboxDb("ops_retention_explain");
  try {
    const NOW = 1_700_000_000_000;
    await enqueueMany(o.pool, 600, NOW - DAY, () => NOW - DAY, 10);
    const claimed = await claimDue(o.pool, 200, lease("explain", NOW - DAY), [1]);
    await finalize(
      o.pool,
      claimed.map((c) => ({
        id: c.id,
        accountId: c.accountId,
        leaseToken: c.leaseToken,
        messageId: c.messageId,
        status: "sent" as const,
        retries: 0,
        nextAttemptAt: null,
        providerMessageId: null,
        error: null,
        errorClass: null,
      })),
      NOW - DAY,
    );
    await o.pool.query("ANALYZE TABLE outbox");
    const [plan] = (await o.pool.query(`EXPLAIN ${FINISHED_BEFORE_SQL}`, [NOW - DAY / 2, 500])) as unknown as [Record<string, unknown>[]];
    const outer = plan.find((r) => r.table === "o")!;
    expect(outer.key).toBe("idx_outbox_finished");
    expect(outer.type).toBe("range");
  } finally {
    await o.close();
  }
}, 60_000);

test("sent mail kept for Reply goes with its row; received mail goes after retention.mail_message_ms", async () => {
  const mailbox = createClient(MailboxService, createConnectTransport({ baseUrl: t.url, httpVersion: "1.1" }));
  const sent = await send();
  const parent = (await getOutbox(t.app.pool, sent))!.messageId!;
  const raw = Buffer.from(
    `From: Carol <carol@example.org>\r\nTo: sender1@example.com\r\nSubject: hi\r\nMessage-ID: <kept-${sent}@example.org>\r\n\r\nhello\r\n`,
  );
  await mailbox.ingestMessage({ accountId: 1, raw });
  const stored = (sql: string) => count(sql, [sent]);
  expect(await stored("SELECT COUNT(*) AS n FROM mail_message WHERE outbox_id IN (?)")).toBe(1);

  clock.advance(DAY + 60_000);
  await t.app.retention.runOnce();
  expect(await getOutbox(t.app.pool, sent)).toBeUndefined();
  expect(await stored("SELECT COUNT(*) AS n FROM mail_message WHERE outbox_id IN (?)")).toBe(0);
  // Its row is gone, so it is no parent any more; the received message (a day old) still is.
  expect(await refusal(client.reply({ accountId: 1, inReplyToMessageId: parent, bodyText: "late" }))).toMatchObject({
    reason: "PARENT_NOT_FOUND",
  });
  expect((await mailbox.getMessage({ accountId: 1, messageId: `<kept-${sent}@example.org>` })).message).toBeDefined();

  clock.advance(DAY);
  await t.app.retention.runOnce();
  expect(await refusal(mailbox.getMessage({ accountId: 1, messageId: `<kept-${sent}@example.org>` }))).toMatchObject({ code: 5 });
});

test("answered outbox_request rows go retention.outbox_ms after their answer; a pending one stays", async () => {
  const utc = (ms: number) => new Date(ms).toISOString().replace("T", " ").replace("Z", "");
  const insert = async (processedAt: number | null) => {
    const [res] = (await t.app.pool.query(
      "INSERT INTO outbox_request (account_id, request, processed_at, error_reason) VALUES (1, '{}', ?, ?)",
      [processedAt === null ? null : utc(processedAt), processedAt === null ? null : "ADDRESS_INVALID"],
    )) as unknown as [{ insertId: number }];
    return res.insertId;
  };
  // The intake would answer the pending one at once: it is stopped meanwhile.
  await t.app.requests.stop();
  try {
    const old = await insert(clock.now() - DAY - 60_000);
    const young = await insert(clock.now() - DAY + 60_000);
    const pending = await insert(null);
    await t.app.retention.runOnce();
    const [rows] = (await t.app.pool.query("SELECT id FROM outbox_request WHERE id IN (?) ORDER BY id", [
      [old, young, pending],
    ])) as unknown as [{ id: number }[]];
    expect(rows.map((r) => Number(r.id))).toEqual([young, pending]);
    expect(t.logs.filter((l) => l.msg === "deleted answered outbox requests past retention").map((l) => l.deleted)).toEqual([1]);
  } finally {
    await t.app.requests.start();
  }
});
