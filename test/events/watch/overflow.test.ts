// A consumer that stops reading: its stream ends with RESOURCE_EXHAUSTED carrying the last event
// it was given, resuming from there loses nothing, and a reading watcher is not disturbed.
import { afterAll, beforeAll, expect, test } from "vitest";
import { Code } from "@connectrpc/connect";
import { OutboxStatus } from "../../../gen/email/v1/outbox_pb.js";
import { lastEventId } from "../../../src/outbox/events.js";
import { sinkAccount, startTestApp, type TestApp } from "../../helpers/app.js";
import { emailClient } from "../../helpers/clients.js";
import { startSmtpSink, type SmtpSink } from "../../helpers/smtp-sink.js";
import { eventIdsAfter, ids, pausedWatch, subscribersReach, watch, type Seen } from "../../helpers/watch.js";

const BUFFER = 5;
/** Far more than HTTP/2 flow control and socket buffers hold for a stalled stream. */
const MAX_SENDS = 400;

let sink: SmtpSink;
let t: TestApp;

beforeAll(async () => {
  // A long 250 reply makes each SENT event about 1 kB, so transport buffers fill sooner.
  sink = await startSmtpSink({ script: (stage) => (stage === "data" ? { code: 250, message: `queued ${"q".repeat(900)}` } : undefined) });
  t = await startTestApp({
    label: "watch_overflow",
    json: { accounts: [sinkAccount(1, sink.port)], watch: { poll_interval_ms: 50, buffer_size: BUFFER }, sender: { batch_size: 1 } },
  });
});
afterAll(async () => {
  await t?.close();
  await sink?.close();
});

test("a watcher that stops reading is cut off with RESOURCE_EXHAUSTED and resumes without loss; a reading one is unaffected", async () => {
  const client = emailClient(t.url);
  const base = await lastEventId(t.app.pool);
  const reading = watch(t.url, "connect-node Connect (HTTP/1.1)", { afterEventId: base });
  const stalled = pausedWatch(t.url, { afterEventId: base });
  await subscribersReach(t.app, 2);

  // One send at a time, each followed until the reading watcher has it, so that watcher is never
  // more than one send behind; the stalled one falls further behind until it is detached.
  let sends = 0;
  const sendOne = async () => {
    const res = await client.send({ accountId: 1, to: [`o${sends}@example.com`], subject: "o", bodyText: "b", waitForAttempt: true });
    sends++;
    const id = Number(res.outbox!.outboxId);
    await reading.until((x) => x.events().some((e) => e.outboxId === id && e.status === OutboxStatus.SENT));
  };
  while (t.app.tailer.subscriberCount === 2) {
    expect(sends).toBeLessThan(MAX_SENDS);
    await sendOne();
  }

  const { seen, end } = await stalled.drain();
  expect(end.code).toBe(Code.ResourceExhausted);
  expect(end.reason).toBe("WATCH_BUFFER_OVERFLOW");
  const got = ids(events(seen));
  expect(end.metadata.last_event_id).toBe(String(got.at(-1) ?? base));

  const resumed = watch(t.url, "connect-node gRPC (HTTP/2)", { afterEventId: Number(end.metadata.last_event_id) });
  await sendOne();
  const table = await eventIdsAfter(t.app, base);
  await resumed.until((x) => ids(x.events()).at(-1) === table.at(-1));
  expect([...got, ...ids(resumed.events())]).toEqual(table);
  expect(ids(reading.events())).toEqual(table);
  expect(await Promise.race([reading.ended, "still open"])).toBe("still open");

  reading.cancel();
  resumed.cancel();
  await subscribersReach(t.app, 0);
}, 60_000);

function events(seen: Seen[]) {
  return seen.flatMap((s) => (s.type === "event" ? [s.event] : []));
}
