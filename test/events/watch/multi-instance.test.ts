// Two instances on one database: a watcher on either sees what the other commits (found by its
// tailer's poll, since no local notify happens).
import { afterAll, beforeAll, expect, test } from "vitest";
import { OutboxEventKind } from "../../../gen/email/v1/email_service_pb.js";
import { OutboxStatus } from "../../../gen/email/v1/outbox_pb.js";
import { sinkAccount, startTestApp, type TestApp } from "../../helpers/app.js";
import { emailClient } from "../../helpers/clients.js";
import { startSmtpSink, type SmtpSink } from "../../helpers/smtp-sink.js";
import { eventIdsAfter, ids, subscribersReach, watch } from "../../helpers/watch.js";

let sink: SmtpSink;
let a: TestApp;
let b: TestApp;

beforeAll(async () => {
  sink = await startSmtpSink();
  const json = { accounts: [sinkAccount(1, sink.port)], watch: { poll_interval_ms: 50 } };
  a = await startTestApp({ label: "watch_multi", json });
  b = await startTestApp({ db: a.db, json });
});
afterAll(async () => {
  await b?.close();
  await a?.close();
  await sink?.close();
});

test("a watcher on instance A sees the sends of instance B, and the other way round", async () => {
  const onA = watch(a.url, "connect-node gRPC (HTTP/2)");
  const onB = watch(b.url, "connect-node Connect (HTTP/1.1)");
  await subscribersReach(a.app, 1);
  await subscribersReach(b.app, 1);
  // Live once the first heartbeat came: a live tail starts at the newest event committed by then.
  for (const w of [onA, onB]) await w.until((x) => x.heartbeats().length > 0);

  const viaB = await emailClient(b.url).send({
    accountId: 1,
    to: ["x@example.com"],
    subject: "from B",
    bodyText: "b",
    waitForAttempt: true,
  });
  const viaA = await emailClient(a.url).send({
    accountId: 1,
    to: ["y@example.com"],
    subject: "from A",
    bodyText: "a",
    waitForAttempt: true,
  });
  const sent = [Number(viaB.outbox!.outboxId), Number(viaA.outbox!.outboxId)];

  const table = await eventIdsAfter(a.app, 0);
  for (const w of [onA, onB]) {
    await w.until((x) => sent.every((id) => x.events().some((e) => e.outboxId === id && e.status === OutboxStatus.SENT)));
    // Both see the same, complete, ordered sequence, whichever instance wrote each event.
    expect(ids(w.events())).toEqual(table);
    for (const id of sent) {
      expect(
        w
          .events()
          .filter((e) => e.outboxId === id)
          .map((e) => e.kind),
      ).toEqual([OutboxEventKind.CREATED, OutboxEventKind.SENDING, OutboxEventKind.SENT]);
    }
  }
  onA.cancel();
  onB.cancel();
  await subscribersReach(a.app, 0);
  await subscribersReach(b.app, 0);
});
