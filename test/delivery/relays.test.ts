// Several relays per account, end to end on real SMTP servers: a relay that cannot be reached
// hands the row to the next at once with the same Message-ID, a recipient's refusal does not,
// round_robin spreads messages evenly, and the relay of each attempt is on the row and its events.
import { createServer } from "node:net";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { OutboxEventKind } from "../../gen/email/v1/email_service_pb.js";
import { OutboxStatus } from "../../gen/email/v1/outbox_pb.js";
import { emailClient, type EmailClient } from "../helpers/clients.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { startSmtpSink, type SmtpSink } from "../helpers/smtp-sink.js";
import { rawMessageId, waitForRow } from "./harness.js";

const DOMAIN = "relays.test";
let closedPort: number;
let backup: SmtpSink;
let picky: SmtpSink;
let left: SmtpSink;
let right: SmtpSink;
let t: TestApp;
let client: EmailClient;

/** A port nothing listens on: connecting is refused. */
async function closedLocalPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const relay = (name: string, port: number) => ({ name, smtp: { host: "127.0.0.1", port, tls: "none", connection_timeout_ms: 2_000 } });
const account = (id: number, relays: unknown[], extra: Record<string, unknown> = {}) => ({
  id,
  from: `Account ${id} <sender${id}@example.com>`,
  relays,
  ...extra,
});

beforeAll(async () => {
  closedPort = await closedLocalPort();
  backup = await startSmtpSink();
  picky = await startSmtpSink({
    script: (stage, ctx) =>
      stage === "rcptTo" && ctx.address?.startsWith("nobody@") ? { code: 550, message: "5.1.1 No such user" } : undefined,
  });
  left = await startSmtpSink();
  right = await startSmtpSink();
  t = await startTestApp({
    label: "relays",
    json: {
      accounts: [
        account(1, [relay("primary", closedPort), relay("backup", backup.port)]),
        account(2, [relay("primary", picky.port), relay("backup", backup.port)]),
        account(3, [relay("left", left.port), relay("right", right.port)], { relay_policy: "round_robin" }),
      ],
      message_id_domain: DOMAIN,
      sender: { max_in_flight: 64, batch_size: 64 },
    },
  });
  client = emailClient(t.url);
}, 60_000);
afterAll(async () => {
  await t?.close();
  await Promise.all([backup, picky, left, right].map((s) => s?.close()));
});

describe("failover", () => {
  test("a relay that refuses the connection hands the row to the next at once, with the same Message-ID and no attempt counted", async () => {
    const { outbox } = await client.send({ accountId: 1, to: ["bob@example.com"], subject: "failover", bodyText: "b" });
    const id = outbox!.outboxId;
    const row = await waitForRow(t.app.pool, id, { status: "sent" });
    expect(row).toMatchObject({ retries: 0, relay: "backup", messageId: `<outbox-${id}-0@${DOMAIN}>` });
    const received = backup.messages.filter((m) => m.header("x-outbox-id") === String(id));
    expect(received.map((m) => rawMessageId(m.raw))).toEqual([`<outbox-${id}-0@${DOMAIN}>`]);

    // The API: the row and each attempt's relay in its timeline.
    const got = (await client.getOutbox({ outboxId: id })).outbox!;
    expect(got).toMatchObject({ status: OutboxStatus.SENT, relay: "backup", retries: 0 });
    const { events } = await client.getOutboxMessage({ outboxId: id });
    const attempts = events.filter((e) => e.kind === OutboxEventKind.RELAY_FAILED || e.kind === OutboxEventKind.SENT);
    expect(attempts.map((e) => [OutboxEventKind[e.kind], e.relay, e.messageId, e.retries])).toEqual([
      ["RELAY_FAILED", "primary", `<outbox-${id}-0@${DOMAIN}>`, 0],
      ["SENT", "backup", `<outbox-${id}-0@${DOMAIN}>`, 0],
    ]);
    expect(attempts[0]!.status).toBe(OutboxStatus.PENDING);
    expect(attempts[0]!.error).toMatch(/ECONNREFUSED|connect/i);
    const listed = await client.listOutbox({ accountId: 1, pageSize: 10 });
    expect(listed.outboxes.find((o) => o.outboxId === id)?.relay).toBe("backup");
  });

  test("a recipient's 5xx on the primary is the message's answer: DEAD there, never sent to the backup", async () => {
    const before = backup.messages.length;
    const { outbox } = await client.send({
      accountId: 2,
      to: ["nobody@example.com"],
      subject: "no such user",
      bodyText: "b",
      waitForAttempt: true,
    });
    expect(outbox).toMatchObject({ status: OutboxStatus.DEAD, retries: 1, lastErrorClass: "SMTP_PERMANENT", relay: "primary" });
    const { events } = await client.getOutboxMessage({ outboxId: outbox!.outboxId });
    expect(events.filter((e) => e.kind === OutboxEventKind.RELAY_FAILED)).toEqual([]);
    expect(events.find((e) => e.kind === OutboxEventKind.DEAD)?.relay).toBe("primary");
    expect(backup.messages.length).toBe(before);
  });

  test("a healthy primary takes the mail: the backup is not used", async () => {
    const before = backup.messages.length;
    const { outbox } = await client.send({ accountId: 2, to: ["bob@example.com"], subject: "ok", bodyText: "b", waitForAttempt: true });
    expect(outbox).toMatchObject({ status: OutboxStatus.SENT, relay: "primary" });
    expect(picky.messages.some((m) => m.header("x-outbox-id") === String(outbox!.outboxId))).toBe(true);
    expect(backup.messages.length).toBe(before);
  });
});

test("round_robin spreads 1,000 messages within 10 % of even over two relays", async () => {
  const COUNT = 1_000;
  for (let i = 0; i < COUNT; i += 500) {
    const messages = Array.from({ length: 500 }, (_, k) => ({
      accountId: 3,
      to: [`r${i + k}@example.com`],
      subject: `rr ${i + k}`,
      bodyText: "b",
    }));
    const { results } = await client.sendBatch({ messages });
    expect(results.every((r) => r.result.case === "outbox")).toBe(true);
  }
  await Promise.all([left.waitFor(1), right.waitFor(1)]);
  await expect.poll(() => left.messages.length + right.messages.length, { timeout: 60_000, interval: 100 }).toBe(COUNT);
  for (const sink of [left, right]) {
    expect(sink.messages.length).toBeGreaterThanOrEqual(COUNT * 0.45);
    expect(sink.messages.length).toBeLessThanOrEqual(COUNT * 0.55);
  }
  // Each row names the relay that took it (outcomes are written just after the sink answered, in batches).
  const sentByRelay = async () => {
    const [rows] = (await t.app.pool.query(
      "SELECT relay, COUNT(*) AS n FROM outbox WHERE account_id = 3 AND status = 'sent' GROUP BY relay ORDER BY relay",
    )) as unknown as [{ relay: string; n: number }[]];
    return rows.map((r) => [r.relay, Number(r.n)]);
  };
  await expect.poll(sentByRelay, { timeout: 30_000, interval: 100 }).toEqual([
    ["left", left.messages.length],
    ["right", right.messages.length],
  ]);
}, 120_000);
