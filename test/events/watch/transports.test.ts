// Every kind of client follows a Send live: CREATED -> SENDING -> SENT, with the event fields
// filled, and cancelling each stream frees its subscription.
import { afterAll, beforeAll, expect, test } from "vitest";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { OutboxEventKind } from "../../../gen/email/v1/email_service_pb.js";
import { OutboxStatus } from "../../../gen/email/v1/outbox_pb.js";
import { readEventsAfter } from "../../../src/outbox/events.js";
import { sinkAccount, startTestApp, type TestApp } from "../../helpers/app.js";
import { emailClient } from "../../helpers/clients.js";
import { startSmtpSink, type SmtpSink } from "../../helpers/smtp-sink.js";
import { ids, subscribersReach, watch, type WatchTransport } from "../../helpers/watch.js";

let sink: SmtpSink;
let t: TestApp;

beforeAll(async () => {
  sink = await startSmtpSink();
  t = await startTestApp({
    label: "watch_transports",
    json: { accounts: [sinkAccount(1, sink.port)], message_id_domain: "mail.test", watch: { poll_interval_ms: 50 } },
  });
});
afterAll(async () => {
  await t?.close();
  await sink?.close();
});

const CLIENTS: WatchTransport[] = [
  "grpc-js",
  "connect-node gRPC (HTTP/2)",
  "connect-node Connect (HTTP/1.1)",
  "connect-node Connect (HTTP/2)",
  "connect-web gRPC-Web (fetch)",
];

test("watchers over grpc-js, connect-node (gRPC, Connect) and connect-web (gRPC-Web) each see CREATED, SENDING, SENT", async () => {
  const watchers = CLIENTS.map((name) => watch(t.url, name, { accountId: 1 }));
  await subscribersReach(t.app, CLIENTS.length);

  const res = await emailClient(t.url).send({
    accountId: 1,
    to: ["bob@example.com"],
    subject: "follow me",
    bodyText: "hi",
    waitForAttempt: true,
  });
  expect(res.outbox?.status).toBe(OutboxStatus.SENT);
  const id = Number(res.outbox!.outboxId);
  const table = (await readEventsAfter(t.app.pool, 0, 100)).filter((e) => e.outboxId === id);
  expect(table.map((e) => e.status)).toEqual(["pending", "sending", "sent"]);

  for (const [i, w] of watchers.entries()) {
    await w.until((x) => x.events().some((e) => e.status === OutboxStatus.SENT));
    const mine = w.events();
    expect(
      mine.map((e) => [e.kind, e.status]),
      CLIENTS[i],
    ).toEqual([
      [OutboxEventKind.CREATED, OutboxStatus.PENDING],
      [OutboxEventKind.SENDING, OutboxStatus.SENDING],
      [OutboxEventKind.SENT, OutboxStatus.SENT],
    ]);
    expect(ids(mine), CLIENTS[i]).toEqual(table.map((e) => e.id));
    expect(
      mine.every((e) => e.outboxId === id && e.accountId === 1 && e.retries === 0 && e.hasTime),
      CLIENTS[i],
    ).toBe(true);
    expect(mine[1]!.messageId, CLIENTS[i]).toBe(`<outbox-${id}-0@mail.test>`);
    expect(mine[2]!.providerMessageId, CLIENTS[i]).toMatch(/^smtp-/);
    // A SENT event's next_attempt_at is the time it was sent (the SendResult of the original).
    expect(mine[2]!.nextAttemptAt, CLIENTS[i]).toBe(timestampMs(res.outbox!.sentTime!));
  }

  for (const w of watchers) w.cancel();
  await subscribersReach(t.app, 0);
  for (const w of watchers) expect((await w.ended).code).toBeDefined();
});

test("a failed attempt streams its error text, retries and next_attempt_at to every client", async () => {
  sink.script = (stage, ctx) =>
    stage === "rcptTo" && ctx.address === "busy@example.com" ? { code: 451, message: "4.3.2 mailbox busy, try later" } : undefined;
  const watchers = CLIENTS.map((name) => watch(t.url, name, { statuses: [OutboxStatus.FAILED] }));
  await subscribersReach(t.app, CLIENTS.length);
  const client = emailClient(t.url);
  const res = await client.send({ accountId: 1, to: ["busy@example.com"], subject: "busy", bodyText: "b", waitForAttempt: true });
  expect(res.outbox?.status).toBe(OutboxStatus.FAILED);
  const due = timestampMs(res.outbox!.nextAttemptAt!);
  await client.cancelOutbox({ outboxId: res.outbox!.outboxId }); // no retry while later tests run

  for (const [i, w] of watchers.entries()) {
    await w.until((x) => x.events().length > 0);
    const [failed] = w.events();
    expect(failed, CLIENTS[i]).toMatchObject({ kind: OutboxEventKind.FAILED, status: OutboxStatus.FAILED, retries: 1, nextAttemptAt: due });
    expect(failed!.error, CLIENTS[i]).toContain("mailbox busy");
    w.cancel();
  }
  sink.script = undefined;
  await subscribersReach(t.app, 0);
});

test.each(CLIENTS)("cancelling a %s stream frees its subscription", async (name) => {
  const w = watch(t.url, name, { accountId: 1 });
  await subscribersReach(t.app, 1);
  w.cancel();
  await subscribersReach(t.app, 0);
});
