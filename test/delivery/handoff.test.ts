// The hand-off: a Send this instance's sender has room for is committed already leased to it,
// with its SENDING event, and its first SMTP command follows that one commit with no claim
// transaction in between. Without room, the row waits in the queue and is claimed as before.
import { afterAll, beforeAll, expect, test, vi } from "vitest";
import { OutboxEventKind } from "../../gen/email/v1/email_service_pb.js";
import { OutboxStatus } from "../../gen/email/v1/outbox_pb.js";
import { emailClient, type EmailClient } from "../helpers/clients.js";
import { sinkAccount, startTestApp, type TestApp } from "../helpers/app.js";
import { startSmtpSink, type SmtpSink } from "../helpers/smtp-sink.js";
import { STATEMENT_SEPARATOR } from "../../src/db/query.js";
import { onQueries, onStatements, statementKind } from "../helpers/statements.js";

let sink: SmtpSink;
let t: TestApp;
let client: EmailClient;

beforeAll(async () => {
  sink = await startSmtpSink();
  t = await startTestApp({
    label: "handoff",
    // One slot, and no poll: only the hand-off or a wake-up after a freed slot can start a row.
    json: { accounts: [sinkAccount(1, sink.port)], message_id_domain: "mail.test", sender: { poll_interval_ms: 60_000, max_in_flight: 1 } },
  });
  client = emailClient(t.url);
  // One message through first, so the start-up passes (claim, rescue, retention) are over.
  await client.send({ accountId: 1, to: ["bob@example.com"], subject: "warm-up", bodyText: "b" });
  await sink.waitFor(1, 20_000);
  await idle();
  sink.clear();
});
afterAll(async () => {
  await t?.close();
  await sink?.close();
});

/** The sender holds nothing: its one slot is free. */
const idle = () => vi.waitFor(() => expect(t.app.sender.heldCount).toBe(0), { timeout: 20_000, interval: 20 });

async function kinds(outboxId: bigint): Promise<number[]> {
  const [rows] = (await t.app.pool.query("SELECT id, kind FROM outbox_event WHERE outbox_id = ? ORDER BY id", [
    Number(outboxId),
  ])) as unknown as [{ id: number; kind: number }[]];
  return rows.map((r) => r.kind);
}

test("an idle Send pays one commit before its first SMTP command, and no claim", async () => {
  const statements: string[] = [];
  const queries: string[] = [];
  let atMailFrom: string[] | undefined;
  let queriesAtMailFrom: string[] | undefined;
  sink.script = (stage) => {
    if (stage === "mailFrom") {
      atMailFrom ??= [...statements];
      queriesAtMailFrom ??= [...queries];
    }
    return undefined;
  };
  const stopStatements = onStatements((sql) => statements.push(sql));
  const stopQueries = onQueries((sql) => queries.push(sql));
  const stop = () => {
    stopStatements();
    stopQueries();
  };
  try {
    const { outbox } = await client.send({ accountId: 1, to: ["bob@example.com"], subject: "idle", bodyText: "b" });
    expect(outbox!.status).toBe(OutboxStatus.SENDING);
    expect(outbox!.messageId).toBe(`<outbox-${outbox!.outboxId}-0@mail.test>`);
    const [msg] = await sink.waitFor(1, 20_000);
    expect(msg!.messageId).toBe(outbox!.messageId);
    expect(atMailFrom!.filter((s) => statementKind(s) === "COMMIT")).toHaveLength(1);
    expect(atMailFrom!.some((s) => /SKIP LOCKED/i.test(s))).toBe(false);
    // After its START the transaction is one round trip: the row, its Message-ID, its events and the COMMIT.
    const writes = queriesAtMailFrom!.filter((q) => /INSERT INTO outbox\b/.test(q));
    expect(writes).toHaveLength(1);
    expect(writes[0]!.split(STATEMENT_SEPARATOR).map(statementKind)).toEqual([
      "INSERT outbox",
      "SET",
      "UPDATE outbox",
      "UPDATE outbox_event_seq",
      "INSERT outbox_event",
      "COMMIT",
    ]);
    // The SENDING event names the Message-ID the server computed for the row it had just inserted.
    const [sending] = (await t.app.pool.query("SELECT message_id FROM outbox_event WHERE outbox_id = ? AND kind = ?", [
      Number(outbox!.outboxId),
      OutboxEventKind.SENDING,
    ])) as unknown as [{ message_id: string }[]];
    expect(sending).toEqual([{ message_id: outbox!.messageId }]);
    await expect
      .poll(() => kinds(outbox!.outboxId), { timeout: 20_000 })
      .toEqual([OutboxEventKind.CREATED, OutboxEventKind.SENDING, OutboxEventKind.SENT]);
  } finally {
    stop();
    sink.script = undefined;
    sink.clear();
  }
});

test("a Send the sender has no room for waits PENDING and is claimed once a slot frees", async () => {
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  await idle();
  sink.script = async (stage, ctx) => {
    if (stage === "data" && ctx.messageCount === 0) await held;
    return undefined;
  };
  try {
    const first = await client.send({ accountId: 1, to: ["bob@example.com"], subject: "first", bodyText: "b" });
    expect(first.outbox!.status).toBe(OutboxStatus.SENDING);
    // The one slot is busy with the first message until the sink lets it go.
    const second = await client.send({ accountId: 1, to: ["bob@example.com"], subject: "second", bodyText: "b" });
    expect(second.outbox!.status).toBe(OutboxStatus.PENDING);
    expect(await kinds(second.outbox!.outboxId)).toEqual([OutboxEventKind.CREATED]);
    release();
    const got = await sink.waitFor(2, 20_000);
    expect(got.map((m) => m.parsed.subject)).toEqual(["first", "second"]);
    await expect
      .poll(() => kinds(second.outbox!.outboxId), { timeout: 20_000 })
      .toEqual([OutboxEventKind.CREATED, OutboxEventKind.SENDING, OutboxEventKind.SENT]);
  } finally {
    release();
    sink.script = undefined;
  }
});
