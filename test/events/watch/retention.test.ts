// Event retention: old events are deleted in batches, only ever as a prefix of the sequence, and
// resuming from a deleted event is refused with OUT_OF_RANGE instead of silently skipping.
import { afterAll, beforeAll, expect, test, vi } from "vitest";
import { Code } from "@connectrpc/connect";
import { OutboxStatus } from "../../../gen/email/v1/outbox_pb.js";
import { createLogger } from "../../../src/lib/log.js";
import { deleteEventsBefore } from "../../../src/outbox/event-retention.js";
import { createEventPruner } from "../../../src/maintenance/event-pruner.js";
import { sinkAccount, startTestApp, type TestApp } from "../../helpers/app.js";
import { ManualClock } from "../../helpers/clock.js";
import { emailClient } from "../../helpers/clients.js";
import { startSmtpSink, type SmtpSink } from "../../helpers/smtp-sink.js";
import { eventIdsAfter, ids, subscribersReach, watch } from "../../helpers/watch.js";

const RETENTION = 60_000;
let sink: SmtpSink;
let t: TestApp;
const clock = new ManualClock(Date.parse("2030-01-01T00:00:00Z"));

beforeAll(async () => {
  sink = await startSmtpSink();
  t = await startTestApp({
    label: "watch_retention",
    clock,
    json: { accounts: [sinkAccount(1, sink.port)], watch: { poll_interval_ms: 50, event_retention_ms: RETENTION } },
  });
});
afterAll(async () => {
  await t?.close();
  await sink?.close();
});

async function sendAndWait(n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const res = await emailClient(t.url).send({ accountId: 1, to: ["old@example.com"], subject: "s", bodyText: "b", waitForAttempt: true });
    expect(res.outbox?.status).toBe(OutboxStatus.SENT);
  }
}

test("events past retention are deleted, and resuming from one of them fails with OUT_OF_RANGE", async () => {
  await sendAndWait(2);
  expect(await eventIdsAfter(t.app, 0)).toEqual([1, 2, 3, 4, 5, 6]);
  clock.advance(2 * RETENTION); // events 1..6 are past retention from here on
  await sendAndWait(2); // events 7..12

  // A background pass may be running with an older cutoff; run until this one has applied.
  await vi.waitFor(
    async () => {
      await t.app.pruner.runOnce();
      expect(await eventIdsAfter(t.app, 0)).toEqual([7, 8, 9, 10, 11, 12]);
    },
    { timeout: 10_000, interval: 50 },
  );

  for (const after of [3, 5]) {
    const w = watch(t.url, "connect-node Connect (HTTP/1.1)", { afterEventId: after });
    const end = await w.ended;
    expect(end.code).toBe(Code.OutOfRange);
    expect(end.reason).toBe("EVENT_OUT_OF_RANGE");
    expect(w.seen).toEqual([]);
  }
  const ahead = await watch(t.url, "connect-node gRPC (HTTP/2)", { afterEventId: 13 }).ended;
  expect(ahead.code).toBe(Code.OutOfRange);

  // Right after the last deleted event is still whole: the stream catches up from the table.
  const w = watch(t.url, "connect-node gRPC (HTTP/2)", { afterEventId: 6 });
  await w.until((x) => x.events().length === 6);
  expect(ids(w.events())).toEqual([7, 8, 9, 10, 11, 12]);
  w.cancel();
  await subscribersReach(t.app, 0);
});

test("the pruner works in small batches and only ever deletes a prefix of the ids", async () => {
  const start = clock.now();
  clock.advance(RETENTION);
  await sendAndWait(1); // created at start + RETENTION
  clock.set(start + RETENTION / 2);
  await sendAndWait(1); // later ids, but an older clock (another instance's, say)
  // The app's own pruner keeps its cutoff at `start`, which deletes nothing here.
  clock.set(start + RETENTION);
  const before = await eventIdsAfter(t.app, 0);
  expect(before).toHaveLength(12);

  // Everything before start + RETENTION (the first test's events) goes; the send at that very
  // time stops the deletion, so the later send with the older clock stays too.
  const cutoff = start + RETENTION;
  expect(await deleteEventsBefore(t.app.pool, cutoff, 2)).toBe(2);
  const pruner = createEventPruner(t.app.pool, { now: () => cutoff + RETENTION }, createLogger("silent"), RETENTION, 2);
  expect(await pruner.runOnce()).toBe(4);
  await pruner.stop();
  const after = await eventIdsAfter(t.app, 0);
  expect(after).toEqual(before.slice(6));
  expect(after).toHaveLength(6);
  expect(after.every((id, i) => i === 0 || id === after[i - 1]! + 1)).toBe(true);
});
