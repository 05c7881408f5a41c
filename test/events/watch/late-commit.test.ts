// A transaction that has taken its event id but commits late: the events of transactions that
// finish meanwhile must not overtake it, so a reader never moves past an id that is still to
// appear. The late transaction runs on its own pool, like another instance (no local notify).
import { afterAll, beforeAll, expect, test, vi } from "vitest";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { OutboxStatus } from "../../../gen/email/v1/outbox_pb.js";
import { createPool, type Pool } from "../../../src/db/pool.js";
import { appendEvents, lastEventId } from "../../../src/outbox/events.js";
import { EventKind } from "../../../src/outbox/types.js";
import { sinkAccount, startTestApp, type TestApp } from "../../helpers/app.js";
import { emailClient } from "../../helpers/clients.js";
import { startSmtpSink, type SmtpSink } from "../../helpers/smtp-sink.js";
import { eventIdsAfter, ids, lockWaits, subscribersReach, watch } from "../../helpers/watch.js";

let sink: SmtpSink;
let t: TestApp;
let other: Pool;
let scheduledId: number;

beforeAll(async () => {
  sink = await startSmtpSink();
  t = await startTestApp({ label: "watch_late", json: { accounts: [sinkAccount(1, sink.port)], watch: { poll_interval_ms: 20 } } });
  other = createPool(t.db.url, 2);
  // A row nothing else touches (due in an hour), for the late transaction to write an event about.
  const res = await emailClient(t.url).send({
    accountId: 1,
    to: ["later@example.com"],
    subject: "later",
    bodyText: "b",
    sendAt: timestampFromMs(Date.now() + 3_600_000),
  });
  scheduledId = Number(res.outbox!.outboxId);
});
afterAll(async () => {
  await other?.end();
  await t?.close();
  await sink?.close();
});

for (const outcome of ["commit", "rollback"] as const) {
  test(`sends committed while an earlier event transaction is open (then ${outcome}) are streamed in id order with no gap`, async () => {
    const client = emailClient(t.url);
    const base = await lastEventId(t.app.pool);
    const w = watch(t.url, "connect-node gRPC (HTTP/2)", { afterEventId: base });
    await subscribersReach(t.app, 1);

    const conn = await other.getConnection();
    let sends: ReturnType<typeof client.send>[];
    try {
      await conn.beginTransaction();
      await appendEvents(
        conn,
        [
          {
            outboxId: scheduledId,
            accountId: 1,
            kind: EventKind.scheduled,
            status: "pending",
            retries: 0,
            nextAttemptAt: Date.now() + 3_600_000,
            providerMessageId: null,
            messageId: null,
            error: null,
          },
        ],
        Date.now(),
      );

      // These write their rows and then queue behind the open transaction for their event ids
      // (group commit puts them in one transaction, the rest waits its turn behind it).
      sends = [0, 1, 2, 3, 4].map((i) => client.send({ accountId: 1, to: [`n${i}@example.com`], subject: `n${i}`, bodyText: "b" }));
      await vi.waitFor(async () => expect(await lockWaits(other)).toBeGreaterThanOrEqual(1), { timeout: 10_000, interval: 200 });
      expect(w.events()).toEqual([]);
      if (outcome === "commit") await conn.commit();
    } finally {
      await conn.rollback().catch(() => undefined);
      conn.release();
    }
    const rows = (await Promise.all(sends)).map((r) => Number(r.outbox!.outboxId));

    await w.until((x) => rows.every((id) => x.events().some((e) => e.outboxId === id && e.status === OutboxStatus.SENT)));
    const table = await eventIdsAfter(t.app, base);
    expect(table).toEqual(table.map((_, i) => base + 1 + i));
    expect(ids(w.events())).toEqual(table);
    // The late event took its id first, so it comes first; rolled back, its id was reused.
    expect(w.events()[0]!.outboxId === scheduledId).toBe(outcome === "commit");
    w.cancel();
    await subscribersReach(t.app, 0);
  });
}
