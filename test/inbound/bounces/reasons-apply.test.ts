// Suppression by the bounce reason's class, end to end on the real service, database, SMTP sink,
// WatchOutbox stream and a webhook receiver: a dead address is suppressed, a sender-side refusal
// (an RBL listing of our IP) never is but raises the account's signal (metric, warning,
// ListAccounts), soft reasons count toward the limit, an account may move a reason to another
// class; the reason travels on the recipient everywhere. Then reviewing and lifting entries.
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, expect, test, vi } from "vitest";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { AccountService } from "../../../gen/email/v1/account_service_pb.js";
import { OutboxEventKind, type OutboxEvent } from "../../../gen/email/v1/email_service_pb.js";
import { MailboxService, SuppressionReason } from "../../../gen/email/v1/mailbox_service_pb.js";
import { BounceReason, RecipientState } from "../../../gen/email/v1/outbox_pb.js";
import { errorReason, fieldViolations } from "../../../src/client/errors.js";
import { defaultReasonClass } from "../../../src/client/reasons.js";
import { emailClient, sendUntilSent, type EmailClient } from "../../helpers/clients.js";
import { sinkAccount, startTestApp, type TestApp } from "../../helpers/app.js";
import { startSmtpSink, type SmtpSink } from "../../helpers/smtp-sink.js";
import { startReceiver, type Receiver } from "../../helpers/webhook-receiver.js";
import { fixture, type Fixture } from "./fixtures.js";

const HOOK_SECRET = `whsec_${Buffer.alloc(24, 7).toString("base64")}`;
let sink: SmtpSink;
let receiver: Receiver;
let t: TestApp;
let email: EmailClient;
let mailbox: Client<typeof MailboxService>;
let accounts: Client<typeof AccountService>;

beforeAll(async () => {
  sink = await startSmtpSink();
  receiver = await startReceiver();
  t = await startTestApp({
    label: "reasons",
    env: { HOOK_SECRET },
    json: {
      accounts: [
        {
          ...sinkAccount(1, sink.port),
          suppression: { soft_bounce_limit: 2 },
          webhooks: [{ id: "bounces", url: receiver.url, secret_env: "HOOK_SECRET", events: ["recipient_bounced"], retry_initial_ms: 50 }],
        },
        // This account treats a full mailbox as dead at once.
        { ...sinkAccount(2, sink.port), suppression: { reason_classes: { mailbox_full: "suppress" } } },
      ],
      sender: { poll_interval_ms: 100 },
      watch: { poll_interval_ms: 50 },
    },
  });
  email = emailClient(t.url);
  const transport = createConnectTransport({ baseUrl: t.url, httpVersion: "1.1" });
  mailbox = createClient(MailboxService, transport);
  accounts = createClient(AccountService, transport);
});
afterAll(async () => {
  await t?.close();
  await receiver?.close();
  await sink?.close();
});

/** Sends and waits until the row is SENT; returns it. */
const sent = (accountId: number, to: string[]) => sendUntilSent(email, accountId, to);

/** Sends to `rcpt` and ingests the report `name` about it; returns the row and the report's answer. */
async function bounce(accountId: number, rcpt: string, name: Fixture, subject?: string) {
  const row = await sent(accountId, [rcpt]);
  const res = await mailbox.ingestMessage({
    accountId,
    raw: fixture(name, { rcpt, messageId: row.messageId, subject, deliveredTo: `sender${accountId}@example.com` }),
  });
  return { row, report: res.report! };
}

async function reportsCounted(): Promise<string> {
  const text = await (await fetch(`${t.url}/metrics`)).text();
  return text
    .split("\n")
    .filter((l) => l.startsWith("email_outbox_recipient_reports_total{"))
    .join("\n");
}

test("a user_unknown bounce suppresses at once, with its reason on the recipient and the entry", async () => {
  const { row, report } = await bounce(1, "nobody@example.org", "postfix-dsn");
  expect(report).toMatchObject({
    outboxId: row.outboxId,
    suppressed: ["nobody@example.org"],
    recipients: [{ state: RecipientState.BOUNCED, reason: BounceReason.USER_UNKNOWN, statusCode: "5.1.1", replyCode: "550" }],
  });
  expect((await mailbox.listSuppressions({ accountId: 1, query: "nobody" })).suppressions).toMatchObject([
    { reason: SuppressionReason.HARD_BOUNCE, bounceReason: BounceReason.USER_UNKNOWN, outboxId: row.outboxId },
  ]);
  expect(await reportsCounted()).toContain('email_outbox_recipient_reports_total{account_id="1",reason="user_unknown",class="suppress"} 1');
});

test("a blocked (5.7.1 Spamhaus) bounce never suppresses: BOUNCED with reason BLOCKED on GetOutbox, ListOutbox, the stream and the webhook; counted, logged and in the account's signal", async () => {
  const rcpt = "vip@customer.example";
  const row = await sent(1, [rcpt]);
  // A real stream on the row, open before the report comes in: its snapshot proves it subscribed.
  const watch = new AbortController();
  let subscribed!: () => void;
  const snapshot = new Promise<void>((resolve) => (subscribed = resolve));
  const streamed = (async () => {
    for await (const res of email.watchOutbox({ outboxIds: [row.outboxId], includeCurrent: true }, { signal: watch.signal })) {
      if (res.message.case !== "event") continue;
      if (res.message.value.kind === OutboxEventKind.SNAPSHOT) subscribed();
      if (res.message.value.kind === OutboxEventKind.RECIPIENT_BOUNCED) return res.message.value;
    }
    throw new Error("the stream ended without the recipient event");
  })();
  await snapshot;
  const res = await mailbox.ingestMessage({ accountId: 1, raw: fixture("postfix-blocked", { rcpt, messageId: row.messageId }) });
  expect(res.report).toMatchObject({
    suppressed: [],
    recipients: [{ address: rcpt, state: RecipientState.BOUNCED, reason: BounceReason.BLOCKED, statusCode: "5.7.1", replyCode: "554" }],
  });
  expect(defaultReasonClass(BounceReason.BLOCKED)).toBe("sender");

  // The recipient shows what happened; the address stays sendable.
  expect((await email.getOutbox({ outboxId: row.outboxId })).outbox!.recipients).toMatchObject([
    { address: rcpt, state: RecipientState.BOUNCED, reason: BounceReason.BLOCKED, diagnostic: expect.stringContaining("spamhaus") },
  ]);
  const listed = (await email.listOutbox({ accountId: 1, pageSize: 500 })).outboxes.find((o) => o.outboxId === row.outboxId);
  expect(listed!.recipients).toMatchObject([{ address: rcpt, reason: BounceReason.BLOCKED, replyCode: "554" }]);
  expect((await mailbox.listSuppressions({ accountId: 1, query: "vip" })).suppressions).toEqual([]);
  const event: OutboxEvent = await streamed.finally(() => watch.abort());
  expect(event).toMatchObject({ recipient: rcpt, reason: BounceReason.BLOCKED, error: expect.stringMatching(/^5\.7\.1 /) });

  // The webhook's data is the event as WatchOutbox streams it, reason included.
  const hook = await vi.waitFor(
    () => {
      const found = receiver.received
        .map((r) => JSON.parse(r.body) as { type: string; data: Record<string, unknown> })
        .find((b) => b.data.outboxId === String(row.outboxId));
      expect(found).toBeDefined();
      return found!;
    },
    { timeout: 15_000 },
  );
  expect(hook).toMatchObject({ type: "outbox.recipient_bounced", data: { recipient: rcpt, reason: "BOUNCE_REASON_BLOCKED" } });

  // The account-level signal: the metric by class, one warning without the address, ListAccounts.
  expect(await reportsCounted()).toContain('email_outbox_recipient_reports_total{account_id="1",reason="blocked",class="sender"} 1');
  const warning = t.logs.find((l) => l.level === 40 && l.reason === "blocked");
  expect(warning).toMatchObject({ account_id: 1, outbox_id: Number(row.outboxId), recipients: 1, domains: ["customer.example"] });
  expect(JSON.stringify(warning)).not.toContain(rcpt);
  const [one, two] = (await accounts.listAccounts({})).accounts;
  expect(one!.senderRefusals).toMatchObject([{ reason: BounceReason.BLOCKED, count: 1, latestDomain: "customer.example" }]);
  expect(one!.senderRefusals[0]!.latestDiagnostic).toContain("blocked using zen.spamhaus.org");
  expect(two!.senderRefusals).toEqual([]);

  // Later mail to the address goes out.
  expect((await sent(1, [rcpt])).suppressedRecipients).toEqual([]);
});

test("mailbox_full counts toward the soft rule with delays alike: suppressed only at the account's limit", async () => {
  const rcpt = "full@example.org";
  const first = await bounce(1, rcpt, "exchange-ndr");
  expect(first.report).toMatchObject({
    suppressed: [],
    recipients: [{ state: RecipientState.BOUNCED, reason: BounceReason.MAILBOX_FULL }],
  });
  expect(await sent(1, [rcpt])).toMatchObject({ suppressedRecipients: [] });
  // A delay notice about another message to it is the second soft report within the window.
  const second = await bounce(1, rcpt, "postfix-delayed", "second");
  expect(second.report.suppressed).toEqual([rcpt]);
  const reason = second.report.recipients[0]!.reason;
  expect(defaultReasonClass(reason)).toBe("soft");
  expect((await mailbox.listSuppressions({ accountId: 1, query: "full@" })).suppressions).toMatchObject([
    { reason: SuppressionReason.SOFT_BOUNCES, bounceReason: reason, outboxId: second.row.outboxId },
  ]);
});

test("a complaint suppresses at once, reason COMPLAINT", async () => {
  const { report } = await bounce(1, "angry@example.org", "arf-complaint");
  expect(report).toMatchObject({
    suppressed: ["angry@example.org"],
    recipients: [{ state: RecipientState.COMPLAINED, reason: BounceReason.COMPLAINT, statusCode: "abuse" }],
  });
  expect((await mailbox.listSuppressions({ accountId: 1, query: "angry" })).suppressions).toMatchObject([
    { reason: SuppressionReason.COMPLAINT, bounceReason: BounceReason.COMPLAINT },
  ]);
});

test("an account's reason_classes moves mailbox_full to suppress: listed at the first report", async () => {
  const { report } = await bounce(2, "full@example.org", "exchange-ndr");
  expect(report).toMatchObject({ suppressed: ["full@example.org"], recipients: [{ reason: BounceReason.MAILBOX_FULL }] });
  expect((await mailbox.listSuppressions({ accountId: 2 })).suppressions).toMatchObject([
    { address: "full@example.org", reason: SuppressionReason.HARD_BOUNCE, bounceReason: BounceReason.MAILBOX_FULL },
  ]);
  expect(await reportsCounted()).toContain('email_outbox_recipient_reports_total{account_id="2",reason="mailbox_full",class="suppress"} 1');
});

test("ListSuppressions filters by reason and by bounce reason; UNSPECIFIED finds the entries the old rule made", async () => {
  // Entries as the every-5.x.x rule listed them before bounce reasons were recorded.
  await t.app.pool.query(
    `INSERT INTO suppression (account_id, address, reason, outbox_id, detail, created_at) VALUES
     (1, 'old-blocked@example.org', 'hard_bounce', NULL, '5.7.1 blocked using zen.spamhaus.org', 1),
     (1, 'old-gone@example.org', 'hard_bounce', NULL, '5.1.1 user unknown', 2)`,
  );
  await mailbox.addSuppression({ accountId: 1, address: "by-hand@example.org", detail: "asked" });
  const addresses = async (req: { reasons?: SuppressionReason[]; bounceReasons?: BounceReason[] }) =>
    (await mailbox.listSuppressions({ accountId: 1, ...req })).suppressions.map((s) => s.address);

  expect(await addresses({ reasons: [SuppressionReason.HARD_BOUNCE], bounceReasons: [BounceReason.UNSPECIFIED] })).toEqual([
    "old-blocked@example.org",
    "old-gone@example.org",
  ]);
  expect(await addresses({ bounceReasons: [BounceReason.UNSPECIFIED] })).toEqual([
    "by-hand@example.org",
    "old-blocked@example.org",
    "old-gone@example.org",
  ]);
  expect(await addresses({ bounceReasons: [BounceReason.USER_UNKNOWN, BounceReason.COMPLAINT] })).toEqual([
    "angry@example.org",
    "nobody@example.org",
  ]);
  expect(await addresses({ reasons: [SuppressionReason.MANUAL, SuppressionReason.SOFT_BOUNCES] })).toEqual([
    "by-hand@example.org",
    "full@example.org",
  ]);
  const old = (await mailbox.listSuppressions({ accountId: 1, query: "old-gone" })).suppressions[0]!;
  expect(old.bounceReason).toBe(BounceReason.UNSPECIFIED);

  for (const bad of [{ reasons: [99 as SuppressionReason] }, { bounceReasons: [99 as BounceReason] }]) {
    const err = await mailbox.listSuppressions({ accountId: 1, ...bad }).catch((e: unknown) => ConnectError.from(e));
    expect(err).toMatchObject({ code: Code.InvalidArgument });
  }
});

test("RemoveSuppression takes a reviewed list off in one call; a bad list is INVALID_ARGUMENT and changes nothing", async () => {
  const all = async () => (await mailbox.listSuppressions({ accountId: 1, pageSize: 500 })).suppressions.map((s) => s.address);
  const before = await all();
  expect(before).toContain("old-blocked@example.org");

  const refusals: [string, Parameters<typeof mailbox.removeSuppression>[0]][] = [
    ["TOO_MANY_ADDRESSES", { accountId: 1, addresses: Array.from({ length: 1001 }, (_, i) => `a${i}@example.org`) }],
    ["ADDRESS_INVALID", { accountId: 1, addresses: ["old-blocked@example.org", "not an address"] }],
    ["ADDRESS_AND_ADDRESSES", { accountId: 1, address: "old-gone@example.org", addresses: ["old-blocked@example.org"] }],
  ];
  for (const [reason, req] of refusals) {
    const err = ConnectError.from(await mailbox.removeSuppression(req).catch((e: unknown) => e));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(errorReason(err)).toBe(reason);
  }
  const malformed = await mailbox.removeSuppression(refusals[1]![1]).catch((e: unknown) => e);
  expect(fieldViolations(malformed).map((v) => v.field)).toEqual(["addresses[1]"]);
  expect(await all()).toEqual(before);

  // The entries the old rule made for a sender-side refusal, found by their detail and lifted.
  const res = await mailbox.removeSuppression({
    accountId: 1,
    addresses: ["Old-Blocked@Example.org", "never-listed@example.org", "by-hand@example.org"],
  });
  expect(res.removed).toEqual(["old-blocked@example.org", "by-hand@example.org"]);
  expect(await all()).toEqual(before.filter((a) => a !== "old-blocked@example.org" && a !== "by-hand@example.org"));
  // One address keeps its answer: NOT_FOUND when it is not listed.
  const missing = ConnectError.from(
    await mailbox.removeSuppression({ accountId: 1, address: "by-hand@example.org" }).catch((e: unknown) => e),
  );
  expect(missing.code).toBe(Code.NotFound);
});

test("docs/inbound.md's review-and-lift commands, posted as curl posts them (Connect JSON), find the old rule's entries and lift the picked ones", async () => {
  const block = /### Reviewing and lifting old suppressions\n[\s\S]*?```sh\n([\s\S]*?)```/.exec(
    readFileSync(new URL("../../../docs/inbound.md", import.meta.url), "utf8"),
  )?.[1];
  const calls = [...block!.matchAll(/-d '([^']+)' \\\n\s+http:\/\/localhost:8080(\/\S+)/g)].map(([, body, path]) => ({
    body: body!,
    path: path!,
  }));
  expect(calls.map((c) => c.path)).toEqual(["/email.v1.MailboxService/ListSuppressions", "/email.v1.MailboxService/RemoveSuppression"]);
  const post = async (c: { body: string; path: string }) => {
    const res = await fetch(`${t.url}${c.path}`, { method: "POST", headers: { "content-type": "application/json" }, body: c.body });
    expect(res.status).toBe(200);
    return (await res.json()) as Record<string, unknown>;
  };
  const removeBody = JSON.parse(calls[1]!.body) as { accountId: number; addresses: string[] };
  // The README's example addresses, listed by the old rule.
  for (const [i, address] of removeBody.addresses.entries()) {
    await t.app.pool.query(
      "INSERT INTO suppression (account_id, address, reason, outbox_id, detail, created_at) VALUES (?, ?, 'hard_bounce', NULL, ?, ?)",
      [removeBody.accountId, address, "5.7.1 blocked using zen.spamhaus.org", 10 + i],
    );
  }
  const listed = (await post(calls[0]!)) as { suppressions: { address: string; reason: string; bounceReason?: string }[] };
  expect(listed.suppressions.map((s) => s.address)).toEqual(expect.arrayContaining(removeBody.addresses));
  for (const s of listed.suppressions) expect(s).toMatchObject({ reason: "SUPPRESSION_REASON_HARD_BOUNCE" });
  expect(listed.suppressions.every((s) => s.bounceReason === undefined)).toBe(true);
  expect(listed.suppressions.map((s) => s.address)).not.toContain("nobody@example.org");
  expect(await post(calls[1]!)).toEqual({ removed: removeBody.addresses });
  const after = (await mailbox.listSuppressions({ accountId: 1, pageSize: 500 })).suppressions.map((s) => s.address);
  for (const a of removeBody.addresses) expect(after).not.toContain(a);
  expect(after).toContain("nobody@example.org");
});
