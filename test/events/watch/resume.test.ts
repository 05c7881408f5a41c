// Streams cut while sends are in flight, resumed with after_event_id: together they hold every
// event of the table exactly once, in order.
import { afterAll, beforeAll, expect, test } from "vitest";
import { OutboxStatus } from "../../../gen/email/v1/outbox_pb.js";
import { lastEventId } from "../../../src/outbox/events.js";
import { sinkAccount, startTestApp, type TestApp } from "../../helpers/app.js";
import { emailClient } from "../../helpers/clients.js";
import { startSmtpSink, type SmtpSink } from "../../helpers/smtp-sink.js";
import { eventIdsAfter, ids, subscribersReach, watch, type SeenEvent, type WatchTransport } from "../../helpers/watch.js";

let sink: SmtpSink;
let t: TestApp;

beforeAll(async () => {
  sink = await startSmtpSink();
  t = await startTestApp({ label: "watch_resume", json: { accounts: [sinkAccount(1, sink.port)], watch: { poll_interval_ms: 50 } } });
});
afterAll(async () => {
  await t?.close();
  await sink?.close();
});

test("disconnecting and resuming with after_event_id loses nothing and repeats nothing", async () => {
  const client = emailClient(t.url);
  const base = await lastEventId(t.app.pool);
  const transports: WatchTransport[] = ["connect-node gRPC (HTTP/2)", "connect-web gRPC-Web (fetch)", "connect-node Connect (HTTP/1.1)"];
  let w = watch(t.url, transports[0]!, { afterEventId: base });
  await subscribersReach(t.app, 1);

  const sends = Array.from({ length: 24 }, (_, i) =>
    client.send({ accountId: 1, to: [`r${i}@example.com`], subject: `resume ${i}`, bodyText: "body" }),
  );
  const rows = (await Promise.all(sends)).map((r) => Number(r.outbox!.outboxId));

  // Cut the stream twice while events keep coming, each time resuming after the last one seen.
  const received: SeenEvent[] = [];
  for (const next of transports.slice(1)) {
    await w.until((x) => ids(x.events()).length >= 8);
    w.cancel();
    await w.ended;
    expect(w.events().length).toBeGreaterThan(0);
    received.push(...w.events());
    w = watch(t.url, next, { afterEventId: received.at(-1)!.eventId });
  }

  await w.until((x) => {
    const sent = new Set([...received, ...x.events()].filter((e) => e.status === OutboxStatus.SENT).map((e) => e.outboxId));
    return rows.every((id) => sent.has(id));
  });
  const table = await eventIdsAfter(t.app, base);
  received.push(...w.events());
  expect(ids(received)).toEqual(table);
  w.cancel();
  await subscribersReach(t.app, 0);
});
