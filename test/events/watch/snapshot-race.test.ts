// include_current while sends are in flight: the snapshot and the live tail meet with no gap and
// no duplicate, so each row's states seen form one unbroken PENDING -> SENDING -> SENT run.
import { afterAll, beforeAll, expect, test, vi } from "vitest";
import { OutboxEventKind } from "../../../gen/email/v1/email_service_pb.js";
import { OutboxStatus } from "../../../gen/email/v1/outbox_pb.js";
import { sinkAccount, startTestApp, type TestApp } from "../../helpers/app.js";
import { emailClient } from "../../helpers/clients.js";
import { startSmtpSink, type SmtpSink } from "../../helpers/smtp-sink.js";
import { eventIdsAfter, ids, subscribersReach, watch, type SeenEvent, type WatchTransport } from "../../helpers/watch.js";

let sink: SmtpSink;
let t: TestApp;
/** Lets sends held at DATA through (also on failure, so the app can stop). */
let release = () => {};

beforeAll(async () => {
  sink = await startSmtpSink();
  t = await startTestApp({ label: "watch_snapshot", json: { accounts: [sinkAccount(1, sink.port)], watch: { poll_interval_ms: 50 } } });
});
afterAll(async () => {
  release();
  await t?.close();
  await sink?.close();
});

const STEPS = [OutboxStatus.PENDING, OutboxStatus.SENDING, OutboxStatus.SENT];

test("include_current racing with live changes: final states seen, ids increasing, nothing repeated or missing", async () => {
  const client = emailClient(t.url);
  const send = (i: number) => client.send({ accountId: 1, to: [`s${i}@example.com`], subject: `snap ${i}`, bodyText: "b" });

  // Hold the first sends at DATA, so the first snapshot certainly holds rows mid-flight.
  const gate = new Promise<void>((resolve) => (release = resolve));
  sink.script = async (stage) => {
    if (stage === "data") await gate;
    return undefined;
  };
  const held = await Promise.all([0, 1, 2, 3, 4, 5].map(send));
  await vi.waitFor(
    async () => {
      expect((await client.listOutbox({ statuses: [OutboxStatus.SENDING] })).outboxes).toHaveLength(held.length);
    },
    { timeout: 15_000, interval: 50 },
  );

  // Each watcher subscribes while a batch of sends is being committed; the gate opens midway.
  const transports: WatchTransport[] = ["connect-node gRPC (HTTP/2)", "grpc-js", "connect-web gRPC-Web (fetch)"];
  const watchers = [];
  const inFlight = [];
  for (const [round, name] of transports.entries()) {
    const batch = [0, 1, 2, 3, 4, 5].map((i) => send(100 * (round + 1) + i));
    watchers.push(watch(t.url, name, { includeCurrent: true }));
    if (round === 1) release();
    inFlight.push(...batch);
    await Promise.all(batch);
  }
  const rows = [...held, ...(await Promise.all(inFlight))].map((r) => Number(r.outbox!.outboxId));

  for (const w of watchers) await w.until((x) => rows.every((id) => lastState(x.events(), id) === OutboxStatus.SENT));
  const table = await eventIdsAfter(t.app, 0);
  for (const [i, w] of watchers.entries()) {
    const seen = w.events();
    const snapshots = seen.filter((e) => e.kind === OutboxEventKind.SNAPSHOT);
    const events = seen.filter((e) => e.kind !== OutboxEventKind.SNAPSHOT);
    // Snapshots come first, one per row; then events with strictly increasing, contiguous ids.
    expect(seen.slice(0, snapshots.length), transports[i]).toEqual(snapshots);
    expect(new Set(snapshots.map((e) => e.outboxId)).size).toBe(snapshots.length);
    const first = table.indexOf(events[0]!.eventId);
    expect(ids(events), transports[i]).toEqual(table.slice(first, first + events.length));
    // Per row: the snapshot state (or CREATED) and then each next state exactly once.
    for (const id of rows) {
      const states = seen.filter((e) => e.outboxId === id).map((e) => STEPS.indexOf(e.status));
      expect(
        states.every((s, k) => k === 0 || s === states[k - 1]! + 1),
        `${transports[i]} row ${id}: ${states}`,
      ).toBe(true);
      expect(states.at(-1)).toBe(2);
    }
  }
  // The first snapshot was taken while the held rows were mid-flight.
  const firstSnapshot = watchers[0]!.events().filter((e) => e.kind === OutboxEventKind.SNAPSHOT);
  for (const r of held) expect(firstSnapshot.find((e) => e.outboxId === Number(r.outbox!.outboxId))?.status).toBe(OutboxStatus.SENDING);

  for (const w of watchers) w.cancel();
  await subscribersReach(t.app, 0);
}, 60_000);

function lastState(seen: SeenEvent[], outboxId: number): OutboxStatus | undefined {
  return seen.filter((e) => e.outboxId === outboxId).at(-1)?.status;
}
