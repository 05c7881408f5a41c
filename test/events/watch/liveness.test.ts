// Heartbeats keep idle streams open and carry a safe resume point; stopping the server ends
// every stream with UNAVAILABLE; a client that cancels, even one that stopped reading, frees
// its subscription.
import { afterAll, beforeAll, expect, test } from "vitest";
import { Code } from "@connectrpc/connect";
import { OutboxStatus } from "../../../gen/email/v1/outbox_pb.js";
import { lastEventId, readEventsAfter } from "../../../src/outbox/events.js";
import { sinkAccount, startTestApp, type TestApp } from "../../helpers/app.js";
import { emailClient } from "../../helpers/clients.js";
import { startSmtpSink, type SmtpSink } from "../../helpers/smtp-sink.js";
import { eventIdsAfter, ids, pausedWatch, subscribersReach, watch, type WatchTransport } from "../../helpers/watch.js";

const HEARTBEAT_MS = 50;
let sink: SmtpSink;
let t: TestApp;
const json = () => ({ accounts: [sinkAccount(1, sink.port)], watch: { poll_interval_ms: 50, heartbeat_ms: HEARTBEAT_MS } });

beforeAll(async () => {
  // Long 250 replies make SENT events about 1 kB, so a stream that is not read fills up soon.
  sink = await startSmtpSink({ script: (stage) => (stage === "data" ? { code: 250, message: `queued ${"q".repeat(900)}` } : undefined) });
  t = await startTestApp({ label: "watch_liveness", json: json() });
});
afterAll(async () => {
  await t?.close();
  await sink?.close();
});

/** Sends `n` messages at once; resolves with their ids once every one is SENT. */
async function sendAll(n: number): Promise<number[]> {
  const client = emailClient(t.url);
  const res = await Promise.all(
    Array.from({ length: n }, (_, i) =>
      client.send({ accountId: 1, to: [`l${i}@example.com`], subject: "l", bodyText: "b", waitForAttempt: true }),
    ),
  );
  for (const r of res) expect(r.outbox?.status).toBe(OutboxStatus.SENT);
  return res.map((r) => Number(r.outbox!.outboxId));
}

test("heartbeats flow on an idle stream and every one is a safe point to resume from", async () => {
  const base = await lastEventId(t.app.pool);
  // Only SENT events match, so most events pass this stream by and heartbeats must cover them.
  const w = watch(t.url, "connect-node gRPC (HTTP/2)", { statuses: [OutboxStatus.SENT] });
  await subscribersReach(t.app, 1);
  const rows = await sendAll(6);
  const table = await readEventsAfter(t.app.pool, base, 1000);
  const newest = table.at(-1)!.id;

  // Idle now: heartbeats keep coming, carrying the newest event id although most did not match.
  await w.until((x) => x.heartbeats().filter((h) => h === newest).length >= 3);
  expect(
    w
      .events()
      .map((e) => e.outboxId)
      .sort(),
  ).toEqual(rows.sort());
  const beats = w.heartbeats();
  expect(beats).toEqual([...beats].sort((a, b) => a - b));
  // Each heartbeat came after every matching event at or below its id.
  w.seen.forEach((s, i) => {
    if (s.type !== "heartbeat") return;
    const before = new Set(w.seen.slice(0, i).flatMap((p) => (p.type === "event" ? [p.event.eventId] : [])));
    for (const e of table) if (e.status === "sent" && e.id <= s.lastEventId) expect(before.has(e.id)).toBe(true);
  });

  // Resuming from the last heartbeat gets exactly what came after.
  const from = beats.at(-1)!;
  w.cancel();
  const resumed = watch(t.url, "connect-node Connect (HTTP/1.1)", { afterEventId: from });
  await sendAll(1);
  const after = await eventIdsAfter(t.app, from);
  await resumed.until((x) => ids(x.events()).length === after.length);
  expect(ids(resumed.events())).toEqual(after);
  resumed.cancel();
  await subscribersReach(t.app, 0);
});

test("cancelling a stream whose client stopped reading frees its subscription", async () => {
  const stalled = pausedWatch(t.url, {});
  await subscribersReach(t.app, 1);
  await sendAll(20); // far more than the stalled stream's transport buffers hold
  expect(t.app.tailer.subscriberCount).toBe(1);
  stalled.cancel();
  await subscribersReach(t.app, 0);
});

test("stopping the server ends every stream with UNAVAILABLE and a resume point", async () => {
  const other = await startTestApp({ db: t.db, json: json() });
  const clients: WatchTransport[] = [
    "grpc-js",
    "connect-node gRPC (HTTP/2)",
    "connect-node Connect (HTTP/1.1)",
    "connect-web gRPC-Web (fetch)",
  ];
  const watchers = clients.map((name) => watch(other.url, name));
  await subscribersReach(other.app, clients.length);
  await Promise.all(watchers.map((w) => w.until((x) => x.heartbeats().length > 0)));
  const newest = await lastEventId(t.app.pool);

  await other.close();
  for (const [i, w] of watchers.entries()) {
    const end = await w.ended;
    expect(end.code, clients[i]).toBe(Code.Unavailable);
    if (clients[i] === "grpc-js") continue; // grpc-js leaves the details binary; the others decode them
    expect(end.reason, clients[i]).toBe("SERVER_STOPPING");
    expect(Number(end.metadata.last_event_id), clients[i]).toBe(newest);
  }
  expect(other.app.tailer.subscriberCount).toBe(0);
});
