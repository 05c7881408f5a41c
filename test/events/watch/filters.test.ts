// Filters combine with AND: outbox_ids, account_id, and statuses (events that leave a row in one
// of them); include_current snapshots only the matching rows.
import { afterAll, beforeAll, expect, test } from "vitest";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { OutboxEventKind as Kind } from "../../../gen/email/v1/email_service_pb.js";
import { OutboxStatus as Status } from "../../../gen/email/v1/outbox_pb.js";
import { lastEventId } from "../../../src/outbox/events.js";
import { sinkAccount, startTestApp, type TestApp } from "../../helpers/app.js";
import { emailClient } from "../../helpers/clients.js";
import { startSmtpSink, type SmtpSink } from "../../helpers/smtp-sink.js";
import { subscribersReach, watch, type WatchRequest } from "../../helpers/watch.js";

let sink: SmtpSink;
let t: TestApp;

beforeAll(async () => {
  sink = await startSmtpSink();
  t = await startTestApp({
    label: "watch_filters",
    json: { accounts: [sinkAccount(1, sink.port), sinkAccount(2, sink.port)], watch: { poll_interval_ms: 50, heartbeat_ms: 50 } },
  });
});
afterAll(async () => {
  await t?.close();
  await sink?.close();
});

test("outbox_ids, account_id and statuses select exactly the matching events", async () => {
  const client = emailClient(t.url);
  const message = { to: ["f@example.com"], subject: "f", bodyText: "b" };
  const scheduled = Number(
    (await client.send({ accountId: 1, ...message, sendAt: timestampFromMs(Date.now() + 3_600_000) })).outbox!.outboxId,
  );

  const requests: Record<string, WatchRequest> = {
    byId: { outboxIds: [scheduled] },
    account2: { accountId: 2 },
    sent: { statuses: [Status.SENT] },
    pendingOrCancelled: { statuses: [Status.PENDING, Status.CANCELLED] },
    account1Sending: { accountId: 1, statuses: [Status.SENDING] },
    currentPending: { includeCurrent: true, statuses: [Status.PENDING] },
  };
  const watchers = Object.fromEntries(
    Object.entries(requests).map(([name, req]) => [name, watch(t.url, "connect-node gRPC (HTTP/2)", req)]),
  );
  await subscribersReach(t.app, Object.keys(requests).length);

  const a1 = Number((await client.send({ accountId: 1, ...message, waitForAttempt: true })).outbox!.outboxId);
  const a2 = Number((await client.send({ accountId: 2, ...message, waitForAttempt: true })).outbox!.outboxId);
  await client.cancelOutbox({ outboxId: BigInt(scheduled) });
  const newest = await lastEventId(t.app.pool);

  const got: Record<string, [number, Kind, Status][]> = {};
  for (const [name, w] of Object.entries(watchers)) {
    // A heartbeat at the newest id means every matching event has been delivered.
    await w.until((x) => x.heartbeats().some((h) => h >= newest));
    got[name] = w.events().map((e) => [e.outboxId, e.kind, e.status]);
    w.cancel();
  }
  expect(got).toEqual({
    byId: [[scheduled, Kind.CANCELLED, Status.CANCELLED]],
    account2: [
      [a2, Kind.CREATED, Status.PENDING],
      [a2, Kind.SENDING, Status.SENDING],
      [a2, Kind.SENT, Status.SENT],
    ],
    sent: [
      [a1, Kind.SENT, Status.SENT],
      [a2, Kind.SENT, Status.SENT],
    ],
    pendingOrCancelled: [
      [a1, Kind.CREATED, Status.PENDING],
      [a2, Kind.CREATED, Status.PENDING],
      [scheduled, Kind.CANCELLED, Status.CANCELLED],
    ],
    account1Sending: [[a1, Kind.SENDING, Status.SENDING]],
    currentPending: [
      [scheduled, Kind.SNAPSHOT, Status.PENDING],
      [a1, Kind.CREATED, Status.PENDING],
      [a2, Kind.CREATED, Status.PENDING],
    ],
  });
  await subscribersReach(t.app, 0);
});
