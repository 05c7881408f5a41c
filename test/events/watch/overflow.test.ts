// A consumer that falls buffer_size events behind is cut off with RESOURCE_EXHAUSTED: one that
// stopped reading has its stream reset (its trailers could not get past the frames it left
// unread) and resumes from the last event it received; one that reads but got a burst larger than
// its buffer gets WATCH_BUFFER_OVERFLOW with last_event_id. Either way, resuming loses nothing, and
// a reading watcher is not disturbed.
import { afterAll, beforeAll, expect, test } from "vitest";
import { Code } from "@connectrpc/connect";
import { OutboxStatus } from "../../../gen/email/v1/outbox_pb.js";
import { lastEventId } from "../../../src/outbox/events.js";
import { sinkAccount, startTestApp, type TestApp } from "../../helpers/app.js";
import { emailClient } from "../../helpers/clients.js";
import { startSmtpSink, type SmtpSink } from "../../helpers/smtp-sink.js";
import { eventIdsAfter, ids, pausedWatch, subscribersReach, untilSent, watch, type Seen } from "../../helpers/watch.js";

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

test("a watcher that stops reading is reset and resumes without loss; a reading one is unaffected", async () => {
  const client = emailClient(t.url);
  // An event first, so that resuming from before the test is not "from the live tail" (0).
  await client.send({ accountId: 1, to: ["first@example.com"], subject: "o", bodyText: "b", waitForAttempt: true });
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

  // Reset with ENHANCE_YOUR_CALM, which connect-node reports from the stream's error event as
  // INTERNAL naming the code (grpc-js: RESOURCE_EXHAUSTED).
  const { seen, end } = await stalled.drain();
  expect([end.code, end.message]).toEqual([Code.Internal, expect.stringContaining("NGHTTP2_ENHANCE_YOUR_CALM")]);
  const got = ids(events(seen));

  const resumed = watch(t.url, "connect-node gRPC (HTTP/2)", { afterEventId: got.at(-1) ?? base });
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

test.each(["connect-node gRPC (HTTP/2)", "connect-node Connect (HTTP/1.1)"] as const)(
  "a %s watcher given a burst larger than its buffer ends with WATCH_BUFFER_OVERFLOW and resumes at last_event_id without loss",
  async (transport) => {
    const base = await lastEventId(t.app.pool);
    const w = watch(t.url, transport, { afterEventId: base });
    await subscribersReach(t.app, 1);
    await w.until((x) => x.heartbeats().length > 0);
    // One commit of more events than the buffer holds reaches the subscription in one step.
    const { results } = await emailClient(t.url).sendBatch({
      messages: Array.from({ length: 4 * BUFFER }, (_, i) => ({ accountId: 1, to: [`b${i}@example.com`], subject: "b", bodyText: "b" })),
    });
    const burst = results.map((r) => (r.result.case === "outbox" ? Number(r.result.value.outboxId) : Number.NaN));
    const end = await w.ended;
    expect([end.code, end.reason]).toEqual([Code.ResourceExhausted, "WATCH_BUFFER_OVERFLOW"]);
    const got = ids(w.events());
    expect(end.metadata.last_event_id).toBe(String(got.at(-1) ?? base));
    await subscribersReach(t.app, 0);

    // Every message of the burst sent, and the tailer past its last event, first: the resumed
    // watcher reads the rest from the table instead of meeting a live burst larger than its buffer
    // again, and the next case starts on a quiet outbox (a late burst would cut its watcher off
    // before it is seen subscribed).
    await untilSent(t.app, burst, { tailerToo: true });
    const resumed = watch(t.url, transport, { afterEventId: Number(end.metadata.last_event_id) });
    const table = await eventIdsAfter(t.app, base);
    await resumed.until((x) => ids(x.events()).length >= table.length - got.length);
    expect([...got, ...ids(resumed.events())].slice(0, table.length)).toEqual(table);
    resumed.cancel();
    await subscribersReach(t.app, 0);
  },
);

function events(seen: Seen[]) {
  return seen.flatMap((s) => (s.type === "event" ? [s.event] : []));
}
