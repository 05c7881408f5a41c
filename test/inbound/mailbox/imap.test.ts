// Inbound mail from a real Dovecot: what lands in the mailbox is stored once, whatever happens to
// the connection, by the one instance that holds the account's lock, and Reply answers it; a
// reload the ingest cannot apply does not stop later ones from applying.
import { afterAll, beforeAll, expect, test } from "vitest";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { EmailService } from "../../../gen/email/v1/email_service_pb.js";
import { MailboxService } from "../../../gen/email/v1/mailbox_service_pb.js";
import { OutboxStatus, RecipientState } from "../../../gen/email/v1/outbox_pb.js";
import { parseConfig } from "../../../src/config/config.js";
import { sinkAccount, startTestApp, type TestApp } from "../../helpers/app.js";
import { createTestDatabase, type TestDatabase } from "../../helpers/db.js";
import { startImapServer, IMAP_PASSWORD, type ImapServer } from "../../helpers/imap-server.js";
import { startSmtpSink, type SmtpSink } from "../../helpers/smtp-sink.js";
import { until } from "../../faults/kit.js";
import { rawMail } from "./raw-mail.js";
import { fixture } from "../bounces/fixtures.js";
import { withUnappliableImap } from "../../ops/late-failure.js";

let imap: ImapServer;
let sink: SmtpSink;
let db: TestDatabase;

beforeAll(async () => {
  [imap, sink, db] = await Promise.all([startImapServer(), startSmtpSink(), createTestDatabase("imap")]);
});
afterAll(async () => {
  await imap?.stop();
  await sink?.close();
  await db?.drop();
});

/** An instance whose account `id` watches `mailbox` on the test server. */
function instance(id: number, mailbox: string, label: string): Promise<TestApp> {
  return startTestApp({
    db,
    label,
    json: { accounts: [{ ...sinkAccount(id, sink.port), imap: { ...imap.config, mailboxes: [mailbox] } }] },
  });
}

async function storedIds(t: TestApp, accountId: number): Promise<string[]> {
  const [rows] = (await t.app.pool.query("SELECT message_id FROM mail_message WHERE account_id = ? ORDER BY message_id", [
    accountId,
  ])) as unknown as [{ message_id: string }[]];
  return rows.map((r) => r.message_id);
}

async function counted(t: TestApp, outcome: string): Promise<number> {
  const metric = await t.app.metrics.registry.getSingleMetric("email_outbox_imap_messages_total")!.get();
  return metric.values.filter((v) => v.labels.outcome === outcome).reduce((n, v) => n + v.value, 0);
}

test("mail appended to the mailbox becomes a parent that Reply answers", async () => {
  const t = await instance(1, "INBOX", "imap-reply");
  try {
    await imap.append(rawMail({ messageId: "<question-1@client.example>", subject: "Where is my order?" }));
    const transport = createConnectTransport({ baseUrl: t.url, httpVersion: "1.1" });
    const mailbox = createClient(MailboxService, transport);
    const parent = await until(
      async () => (await mailbox.getMessage({ accountId: 1, messageId: "<question-1@client.example>" })).message!,
      10_000,
    );
    expect(parent.subject).toBe("Where is my order?");
    const res = await createClient(EmailService, transport).reply({
      accountId: 1,
      inReplyToMessageId: "<question-1@client.example>",
      bodyText: "On its way.",
      waitForAttempt: true,
    });
    expect(res.outbox?.status).toBe(OutboxStatus.SENT);
    const delivered = sink.messages.find((m) => m.messageId === res.outbox!.messageId)!;
    expect(delivered.header("in-reply-to")).toBe("<question-1@client.example>");
    expect(delivered.envelope.to).toEqual(["customer@client.example"]);
    expect(t.logs.some((l) => JSON.stringify(l).includes(IMAP_PASSWORD))).toBe(false);
  } finally {
    await t.close();
  }
});

test("a bounce that lands in the mailbox is applied to the row it reports on", async () => {
  const t = await instance(5, "Bounces", "imap-bounce");
  try {
    const email = createClient(EmailService, createConnectTransport({ baseUrl: t.url, httpVersion: "1.1" }));
    const sent = (await email.send({ accountId: 5, to: ["gone@example.org"], subject: "s", bodyText: "b", waitForAttempt: true })).outbox!;
    expect(sent.status).toBe(OutboxStatus.SENT);
    await imap.append(fixture("postfix-dsn", { rcpt: "gone@example.org", messageId: sent.messageId }), "Bounces");
    const { outbox } = await until(async () => {
      const got = await email.getOutbox({ outboxId: sent.outboxId });
      expect(got.outbox!.recipients).toHaveLength(1);
      return got;
    }, 15_000);
    expect(outbox!.recipients[0]).toMatchObject({ address: "gone@example.org", state: RecipientState.BOUNCED, statusCode: "5.1.1" });
  } finally {
    await t.close();
  }
});

test("a connection cut in the middle of a fetch loses and duplicates nothing", async () => {
  for (const n of [1, 2, 3]) await imap.append(rawMail({ messageId: `<cut-${n}@client.example>`, text: `cut-body-${n}` }), "Cut");
  const cut = imap.cutWhenServerSends("cut-body-2");
  const t = await instance(2, "Cut", "imap-cut");
  try {
    await cut;
    await until(
      async () => expect(await storedIds(t, 2)).toEqual(["<cut-1@client.example>", "<cut-2@client.example>", "<cut-3@client.example>"]),
      15_000,
    );
    // Each UID is stored just after its message: the last one follows shortly.
    await until(async () => {
      const [state] = (await t.app.pool.query("SELECT last_uid FROM imap_mailbox_state WHERE account_id = 2")) as unknown as [
        { last_uid: number }[],
      ];
      expect(state.map((s) => Number(s.last_uid))).toEqual([3]);
    }, 15_000);
    expect(t.logs.some((l) => l.msg === "imap mailbox failed; reconnecting")).toBe(true);
    // The message before the cut was not fetched again: its UID had been stored.
    expect(await counted(t, "ingested")).toBe(3);
    expect(await counted(t, "duplicate")).toBe(0);
  } finally {
    await t.close();
  }
});

test("one instance at a time holds the mailbox; another takes over when it stops", async () => {
  await imap.append(rawMail({ messageId: "<lock-1@client.example>" }), "Lock");
  const first = await instance(3, "Lock", "imap-lock-a");
  const second = await instance(3, "Lock", "imap-lock-b");
  try {
    expect(first.app.inbound.holds(3)).toBe(true);
    await until(async () => expect(await storedIds(first, 3)).toEqual(["<lock-1@client.example>"]), 10_000);
    expect(second.app.inbound.holds(3)).toBe(false);
    expect((await counted(second, "ingested")) + (await counted(second, "duplicate"))).toBe(0);

    await first.close();
    await until(() => expect(second.app.inbound.holds(3)).toBe(true), 10_000);
    await imap.append(rawMail({ messageId: "<lock-2@client.example>" }), "Lock");
    await until(async () => expect(await storedIds(second, 3)).toEqual(["<lock-1@client.example>", "<lock-2@client.example>"]), 10_000);
    expect(await counted(second, "ingested")).toBe(1);
    expect(await counted(second, "duplicate")).toBe(0);
  } finally {
    await first.close();
    await second.close();
  }
});

test("a reload (SIGHUP) starts, changes and stops an account's mailbox; a refused login logs no password", async () => {
  await imap.append(rawMail({ messageId: "<reload-1@client.example>" }), "Reload");
  const t = await startTestApp({ db, label: "imap-reload", json: { accounts: [sinkAccount(4, sink.port)] } });
  const reload = (value?: Record<string, unknown>) =>
    t.app.reload(
      parseConfig({ accounts: [{ ...sinkAccount(4, sink.port), imap: value }] }, { DATABASE_URL: db.url, PORT: "0" }, process.cwd()),
    );
  try {
    reload({ ...imap.config, mailboxes: ["Reload"] });
    await until(async () => expect(await storedIds(t, 4)).toEqual(["<reload-1@client.example>"]), 10_000);

    reload({ ...imap.config, auth: { password: "wrong-imap-password" }, mailboxes: ["Reload"] });
    await until(
      () =>
        expect(t.logs.some((l) => l.msg === "imap mailbox failed; reconnecting" && String(l.err).includes("Authentication failed"))).toBe(
          true,
        ),
      10_000,
    );
    expect(JSON.stringify(t.logs)).not.toContain("wrong-imap-password");

    reload(undefined);
    await until(() => expect(t.app.inbound.holds(4)).toBe(false), 10_000);
  } finally {
    await t.close();
  }
});

test("a reload the ingest cannot apply is logged, and the next reload is applied", async () => {
  await imap.append(rawMail({ messageId: "<chain-1@client.example>" }), "Chain");
  const t = await startTestApp({ db, label: "imap-chain", json: { accounts: [sinkAccount(6, sink.port)] } });
  const good = parseConfig(
    { accounts: [{ ...sinkAccount(6, sink.port), imap: { ...imap.config, mailboxes: ["Chain"] } }] },
    { DATABASE_URL: db.url, PORT: "0" },
    process.cwd(),
  );
  try {
    t.app.reload(withUnappliableImap(good, 6));
    await until(
      () => expect(t.logs.some((l) => l.msg === "imap ingest could not follow the config" && String(l.err).includes("BigInt"))).toBe(true),
      10_000,
    );
    expect(t.app.inbound.holds(6)).toBe(false);

    t.app.reload(good);
    await until(async () => expect(await storedIds(t, 6)).toEqual(["<chain-1@client.example>"]), 10_000);
    expect(t.app.inbound.holds(6)).toBe(true);
  } finally {
    await t.close();
  }
});
