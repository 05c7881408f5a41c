// Bounces and complaints end to end, on the real API, database and SMTP sink: an ingested report
// marks the recipient of the row it is about, puts an event on the row's stream and the address
// on the suppression list; later mail leaves suppressed recipients out, or is SUPPRESSED and never
// attempted; VERP addresses match reports and expose forged ones.
import { afterAll, beforeAll, expect, test } from "vitest";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { MailboxService, SuppressionReason } from "../../../gen/email/v1/mailbox_service_pb.js";
import { BounceReason, OutboxStatus, RecipientState } from "../../../gen/email/v1/outbox_pb.js";
import { verpAddress } from "../../../src/message/verp.js";
import { readEventsAfter } from "../../../src/outbox/events.js";
import { EventKind } from "../../../src/outbox/types.js";
import { emailClient, sendUntilSent, type EmailClient } from "../../helpers/clients.js";
import { sinkAccount, startTestApp, type TestApp } from "../../helpers/app.js";
import { startSmtpSink, type SmtpSink } from "../../helpers/smtp-sink.js";
import { fixture } from "./fixtures.js";

const DOMAIN = "bounces.test";
const VERP = { domain: "bounce.example.com", secret: "verp-secret-0123456789" };
let sink: SmtpSink;
let t: TestApp;
let email: EmailClient;
let mailbox: Client<typeof MailboxService>;

beforeAll(async () => {
  sink = await startSmtpSink();
  t = await startTestApp({
    label: "bounces",
    env: { VERP_SECRET: VERP.secret },
    json: {
      message_id_domain: DOMAIN,
      accounts: [
        { ...sinkAccount(1, sink.port), suppression: { soft_bounce_limit: 2 } },
        { ...sinkAccount(2, sink.port), verp: { domain: VERP.domain, secret_env: "VERP_SECRET" } },
      ],
      sender: { poll_interval_ms: 100 },
    },
  });
  email = emailClient(t.url);
  mailbox = createClient(MailboxService, createConnectTransport({ baseUrl: t.url, httpVersion: "1.1" }));
});
afterAll(async () => {
  await t?.close();
  await sink?.close();
});

/** Sends and waits until the row is SENT; returns it. */
const sent = (accountId: number, to: string[]) => sendUntilSent(email, accountId, to);

test("a hard bounce marks the recipient BOUNCED, streams an event, and suppresses the address; a second copy changes nothing", async () => {
  const row = await sent(1, ["Hard@Example.org", "fine@example.org"]);
  const raw = fixture("postfix-dsn", { rcpt: "hard@example.org", messageId: row.messageId });
  const before = (await readEventsAfter(t.app.pool, 0, 100_000)).at(-1)!.id;
  const res = await mailbox.ingestMessage({ accountId: 1, raw });
  expect(res.report).toMatchObject({ outboxId: row.outboxId, suppressed: ["hard@example.org"] });

  const { outbox } = await email.getOutbox({ outboxId: row.outboxId });
  expect(outbox!.status).toBe(OutboxStatus.SENT);
  expect(outbox!.recipients).toMatchObject([
    { address: "hard@example.org", state: RecipientState.BOUNCED, statusCode: "5.1.1", reason: BounceReason.USER_UNKNOWN },
  ]);
  expect(outbox!.recipients[0]!.diagnostic).toContain("User unknown");
  const events = (await readEventsAfter(t.app.pool, before, 100)).filter((e) => e.outboxId === Number(row.outboxId));
  expect(events).toMatchObject([
    {
      kind: EventKind.recipientBounced,
      status: "sent",
      recipient: "hard@example.org",
      bounceReason: "user_unknown",
      error: expect.stringMatching(/^5\.1\.1 /),
    },
  ]);

  const list = await mailbox.listSuppressions({ accountId: 1 });
  expect(list.suppressions).toMatchObject([
    { address: "hard@example.org", reason: SuppressionReason.HARD_BOUNCE, bounceReason: BounceReason.USER_UNKNOWN, outboxId: row.outboxId },
  ]);

  // The very same report again (an IMAP re-fetch, a client retry): stored once, applied once.
  const again = await mailbox.ingestMessage({ accountId: 1, raw });
  expect(again.created).toBe(false);
  expect(again.report).toBeUndefined();
  expect((await readEventsAfter(t.app.pool, before, 100)).filter((e) => e.outboxId === Number(row.outboxId))).toHaveLength(1);
});

test("a suppressed recipient is left out of later mail; a message to suppressed recipients only is SUPPRESSED, never attempted", async () => {
  await mailbox.addSuppression({ accountId: 1, address: "Manual <manual@example.org>", detail: "asked us to stop" });
  const received = sink.messages.length;
  const partial = await sent(1, ["manual@example.org", "kept@example.org"]);
  expect(partial.suppressedRecipients).toEqual(["manual@example.org"]);
  const [msg] = (await sink.waitFor(received + 1)).slice(received);
  expect(msg!.envelope.to).toEqual(["kept@example.org"]);
  expect(msg!.header("to")).not.toContain("manual@");

  const only = (await email.send({ accountId: 1, to: ["manual@example.org"], cc: ["MANUAL@example.org"], subject: "s", bodyText: "b" }))
    .outbox!;
  expect(only.status).toBe(OutboxStatus.SUPPRESSED);
  expect((await email.getOutbox({ outboxId: only.outboxId })).outbox).toMatchObject({
    status: OutboxStatus.SUPPRESSED,
    suppressedRecipients: ["manual@example.org"],
  });
  const events = (await readEventsAfter(t.app.pool, 0, 100_000)).filter((e) => e.outboxId === Number(only.outboxId));
  expect(events.map((e) => e.kind)).toEqual([EventKind.suppressed]);

  // Removed from the list: mail to it goes out again. Removing it twice is NOT_FOUND.
  await mailbox.removeSuppression({ accountId: 1, address: "manual@example.org" });
  await sent(1, ["manual@example.org"]);
  const missing = await mailbox.removeSuppression({ accountId: 1, address: "manual@example.org" }).catch((e: unknown) => e);
  expect(ConnectError.from(missing).code).toBe(Code.NotFound);
  expect(sink.messages.filter((m) => m.envelope.to.includes("manual@example.org"))).toHaveLength(1);
});

test("soft bounces suppress only after the account's limit; a delay never replaces a bounce", async () => {
  const a = await sent(1, ["soft@example.org"]);
  const first = await mailbox.ingestMessage({
    accountId: 1,
    raw: fixture("postfix-delayed", { rcpt: "soft@example.org", messageId: a.messageId }),
  });
  expect(first.report).toMatchObject({ recipients: [{ state: RecipientState.DELAYED, statusCode: "4.4.1" }], suppressed: [] });
  const b = await sent(1, ["soft@example.org"]);
  const second = await mailbox.ingestMessage({
    accountId: 1,
    raw: fixture("postfix-delayed", { rcpt: "soft@example.org", messageId: b.messageId, subject: "second" }),
  });
  expect(second.report!.suppressed).toEqual(["soft@example.org"]);
  expect((await mailbox.listSuppressions({ accountId: 1, query: "soft" })).suppressions).toMatchObject([
    { reason: SuppressionReason.SOFT_BOUNCES },
  ]);

  const c = await sent(1, ["late@example.org"]);
  await mailbox.ingestMessage({ accountId: 1, raw: fixture("gmail-dsn", { rcpt: "late@example.org", messageId: c.messageId }) });
  await mailbox.ingestMessage({
    accountId: 1,
    raw: fixture("postfix-delayed", { rcpt: "late@example.org", messageId: c.messageId, subject: "late" }),
  });
  expect((await email.getOutbox({ outboxId: c.outboxId })).outbox!.recipients).toMatchObject([
    { state: RecipientState.BOUNCED, statusCode: "5.1.1" },
  ]);
});

test("a complaint marks the recipient COMPLAINED and suppresses it", async () => {
  const row = await sent(1, ["angry@example.org"]);
  const res = await mailbox.ingestMessage({
    accountId: 1,
    raw: fixture("arf-complaint", { rcpt: "angry@example.org", messageId: row.messageId }),
  });
  expect(res.report).toMatchObject({
    recipients: [{ address: "angry@example.org", state: RecipientState.COMPLAINED, statusCode: "abuse" }],
    suppressed: ["angry@example.org"],
  });
  expect((await mailbox.listSuppressions({ accountId: 1, query: "angry" })).suppressions).toMatchObject([
    { reason: SuppressionReason.COMPLAINT },
  ]);
});

test("reports about another account's row, or a recipient the row never had, change nothing", async () => {
  const row = await sent(1, ["someone@example.org"]);
  const other = await mailbox.ingestMessage({
    accountId: 2,
    raw: fixture("exim-plain", { rcpt: "someone@example.org", messageId: row.messageId }),
  });
  expect(other.report).toBeUndefined();
  const stranger = await mailbox.ingestMessage({
    accountId: 1,
    raw: fixture("exchange-ndr", { rcpt: "stranger@example.org", messageId: row.messageId }),
  });
  expect(stranger.report).toBeUndefined();
  expect((await email.getOutbox({ outboxId: row.outboxId })).outbox!.recipients).toEqual([]);
});

test("VERP: the envelope sender names the row; a bounce to it matches without a Message-ID, and a forged hash is ignored", async () => {
  const received = sink.messages.length;
  const row = await sent(2, ["verp@example.org"]);
  const [msg] = (await sink.waitFor(received + 1)).slice(received);
  const bounceTo = verpAddress(2, Number(row.outboxId), VERP);
  expect(msg!.envelope.from).toBe(bounceTo);
  expect(msg!.header("from")).toContain("sender2@example.com");

  const forged = bounceTo.replace(/-[0-9a-f]{16}@/, "-0000000000000000@");
  const noId = "<unrelated@elsewhere.example>";
  const ignored = await mailbox.ingestMessage({
    accountId: 2,
    raw: fixture("gmail-dsn", { rcpt: "verp@example.org", messageId: noId, deliveredTo: forged }),
  });
  expect(ignored.report).toBeUndefined();
  const matched = await mailbox.ingestMessage({
    accountId: 2,
    raw: fixture("gmail-dsn", { rcpt: "verp@example.org", messageId: noId, deliveredTo: bounceTo, subject: "v" }),
  });
  expect(matched.report).toMatchObject({ outboxId: row.outboxId, recipients: [{ state: RecipientState.BOUNCED }] });
});

test("AddSuppression refuses what is not an address", async () => {
  const err = await mailbox.addSuppression({ accountId: 1, address: "not an address" }).catch((e: unknown) => ConnectError.from(e));
  expect(err).toMatchObject({ code: Code.InvalidArgument });
});
