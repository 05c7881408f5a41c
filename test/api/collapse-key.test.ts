// collapse_key end to end on a manual clock with a real SMTP sink: of three updates with one key
// held in the queue only the newest goes out, the others CANCELLED as SUPERSEDED; a message
// under way is not touched; accounts do not interfere; within one SendBatch the last wins; a bad
// key is refused with nothing written.
import { afterAll, beforeAll, expect, test } from "vitest";
import { Code } from "@connectrpc/connect";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { CancelReason, OutboxEventKind, type OutboxEvent } from "../../gen/email/v1/email_service_pb.js";
import { OutboxStatus, type Outbox } from "../../gen/email/v1/outbox_pb.js";
import { waitForOutcome } from "../../src/client/client.js";
import { startSmtpSink, type SmtpSink } from "../helpers/smtp-sink.js";
import { sinkAccount, startTestApp, type TestApp } from "../helpers/app.js";
import { ManualClock } from "../helpers/clock.js";
import { emailClient, type EmailClient } from "../helpers/clients.js";
import { refusal } from "../helpers/refusal.js";
import { countRows } from "../helpers/tables.js";

const T0 = 1_767_225_600_000;
const clock = new ManualClock(T0);
/** Set while DATA of a message with this subject is to be held until `release` is called. */
let hold: { subject: string; reached: () => void; gate: Promise<void> } | undefined;
let sink: SmtpSink;
let t: TestApp;
let client: EmailClient;

beforeAll(async () => {
  sink = await startSmtpSink({
    script: async (stage, ctx) => {
      if (stage !== "data" || !hold || !ctx.raw!.toString().includes(`Subject: ${hold.subject}`)) return undefined;
      hold.reached();
      await hold.gate;
      return undefined;
    },
  });
  t = await startTestApp({
    label: "api_collapse_key",
    clock,
    json: { accounts: [sinkAccount(1, sink.port), sinkAccount(2, sink.port)], sender: { poll_interval_ms: 3_600_000 } },
  });
  client = emailClient(t.url);
});
afterAll(async () => {
  await t?.close();
  await sink?.close();
});

const message = (subject: string, collapseKey: string, accountId = 1) => ({
  accountId,
  to: ["bob@example.com"],
  subject,
  bodyText: "Order status",
  collapseKey,
});
const get = async (id: bigint): Promise<Outbox> => (await client.getOutbox({ outboxId: id })).outbox!;
const events = async (id: bigint): Promise<OutboxEvent[]> => (await client.getOutboxMessage({ outboxId: id })).events;
const outcome = async (id: bigint) => (await waitForOutcome(client, id, { signal: AbortSignal.timeout(10_000) })).status;
const subjects = () => sink.messages.map((m) => m.parsed.subject);

/** Due at `ms`: the clock moves there and the sender claims. */
function advanceTo(ms: number): void {
  clock.set(ms);
  t.app.sender.wake();
}

test("a bad collapse_key is INVALID_ARGUMENT COLLAPSE_KEY_INVALID and writes nothing", async () => {
  for (const key of ["k".repeat(129), `${"你".repeat(43)}`, "line\nbreak", "tab\there", "bidi\u202eevil", "zero\u200bwidth"]) {
    const r = await refusal(client.send(message("bad", key)));
    expect({ key, code: r.code, reason: r.reason, fields: r.fields }).toEqual({
      key,
      code: Code.InvalidArgument,
      reason: "COLLAPSE_KEY_INVALID",
      fields: ["collapse_key"],
    });
  }
  const reply = await refusal(
    client.reply({ accountId: 1, inReplyToMessageId: "<parent@example.com>", bodyText: "x", collapseKey: "\u0000" }),
  );
  expect({ code: reply.code, reason: reply.reason }).toEqual({ code: Code.InvalidArgument, reason: "COLLAPSE_KEY_INVALID" });
  expect(await countRows(t.db.url)).toEqual({ outbox: 0, events: 0 });
  // 128 bytes of printable text is a key.
  const key = `${"你".repeat(42)}ab`;
  const ok = (await client.send({ ...message("ok", key), sendAt: timestampFromMs(T0 + 60_000) })).outbox!;
  expect(ok.collapseKey).toBe(key);
  await client.cancelOutbox({ outboxId: ok.outboxId });
});

test("three updates with one key while held (scheduled): the first two are SUPERSEDED, each by the next, and only the newest is sent", async () => {
  clock.set(T0);
  sink.clear();
  const sendAt = timestampFromMs(T0 + 10_000);
  const ids: bigint[] = [];
  for (const status of ["packed", "shipped", "out for delivery"]) {
    ids.push((await client.send({ ...message(`Order 7: ${status}`, "order-7"), sendAt })).outbox!.outboxId);
  }
  const [first, second, newest] = ids as [bigint, bigint, bigint];
  // Each is superseded by the row whose commit cancelled it: following superseded_by leads to the newest.
  for (const [id, by] of [
    [first, second],
    [second, newest],
  ] as const) {
    expect(await get(id)).toMatchObject({ status: OutboxStatus.CANCELLED, supersededBy: by, collapseKey: "order-7" });
    const last = (await events(id)).at(-1)!;
    expect(last).toMatchObject({
      kind: OutboxEventKind.CANCELLED,
      status: OutboxStatus.CANCELLED,
      cancelReason: CancelReason.SUPERSEDED,
      supersededBy: by,
    });
  }
  expect(await get(newest)).toMatchObject({ status: OutboxStatus.PENDING, supersededBy: 0n });

  advanceTo(T0 + 10_000);
  expect(await outcome(newest)).toBe(OutboxStatus.SENT);
  expect(subjects()).toEqual(["Order 7: out for delivery"]);
  // A cancel by request says so.
  const cancelled = (await client.send({ ...message("cancel me", ""), sendAt: timestampFromMs(T0 + 60_000) })).outbox!;
  await client.cancelOutbox({ outboxId: cancelled.outboxId });
  expect((await events(cancelled.outboxId)).at(-1)).toMatchObject({
    kind: OutboxEventKind.CANCELLED,
    cancelReason: CancelReason.REQUESTED,
    supersededBy: 0n,
  });
});

test("a message with an attempt under way (SENDING) is not cancelled by a newer one", async () => {
  clock.set(T0 + 20_000);
  sink.clear();
  let reached!: () => void;
  let release!: () => void;
  const atData = new Promise<void>((r) => (reached = r));
  hold = { subject: "held", reached, gate: new Promise<void>((r) => (release = r)) };
  try {
    const underWay = (await client.send(message("held", "order-8"))).outbox!;
    await atData;
    const newer = (await client.send({ ...message("newer", "order-8"), sendAt: timestampFromMs(T0 + 30_000) })).outbox!;
    expect(newer.status).toBe(OutboxStatus.PENDING);
    expect((await get(underWay.outboxId)).status).toBe(OutboxStatus.SENDING);
    release();
    expect(await outcome(underWay.outboxId)).toBe(OutboxStatus.SENT);
    expect((await events(underWay.outboxId)).map((e) => e.kind)).not.toContain(OutboxEventKind.CANCELLED);
    advanceTo(T0 + 30_000);
    expect(await outcome(newer.outboxId)).toBe(OutboxStatus.SENT);
    expect(subjects()).toEqual(["held", "newer"]);
  } finally {
    hold = undefined;
    release?.();
  }
});

test("the same key on two accounts: neither supersedes the other", async () => {
  clock.set(T0 + 40_000);
  sink.clear();
  const sendAt = timestampFromMs(T0 + 50_000);
  const one = (await client.send({ ...message("account 1", "shared", 1), sendAt })).outbox!;
  const two = (await client.send({ ...message("account 2", "shared", 2), sendAt })).outbox!;
  expect((await get(one.outboxId)).status).toBe(OutboxStatus.PENDING);
  advanceTo(T0 + 50_000);
  expect([await outcome(one.outboxId), await outcome(two.outboxId)]).toEqual([OutboxStatus.SENT, OutboxStatus.SENT]);
  expect(subjects().sort()).toEqual(["account 1", "account 2"]);
});

test("inside one SendBatch the last message with a key wins; the others are returned CANCELLED and never attempted", async () => {
  clock.set(T0 + 60_000);
  sink.clear();
  const res = await client.sendBatch({
    messages: [message("b1", "batch"), message("b2", "batch"), message("b3", ""), message("b4", "batch"), message("b5", "other")],
  });
  const rows = res.results.map((r) => (r.result.case === "outbox" ? r.result.value : undefined));
  const [b1, b2, b3, b4, b5] = rows as Outbox[];
  for (const row of [b1, b2]) expect(row).toMatchObject({ status: OutboxStatus.CANCELLED, supersededBy: b4!.outboxId });
  // The others due now were handed to the local sender in the same commit.
  for (const row of [b3, b4, b5]) expect(row!.status).toBe(OutboxStatus.SENDING);
  for (const row of [b3, b4, b5]) expect(await outcome(row!.outboxId)).toBe(OutboxStatus.SENT);
  expect(subjects().sort()).toEqual(["b3", "b4", "b5"]);
  // Created, then superseded in the same transaction: never handed to the sender.
  for (const row of [b1, b2]) {
    expect((await events(row!.outboxId)).map((e) => [e.kind, e.supersededBy])).toEqual([
      [OutboxEventKind.CREATED, 0n],
      [OutboxEventKind.CANCELLED, b4!.outboxId],
    ]);
  }
});
