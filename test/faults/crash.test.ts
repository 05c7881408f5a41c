// Crash: the service is SIGKILLed ten times at random moments while it sends, and restarted on
// the same database each time. Nothing may be lost, and a message may reach the SMTP server twice
// only if it was in flight at a kill, with the same Message-ID both times.
import { randomInt } from "node:crypto";
import { afterAll, beforeAll, expect, test } from "vitest";
import { sinkAccount, startTestApp, type TestApp } from "../helpers/app.js";
import { emailClient } from "../helpers/clients.js";
import {
  byOutboxId,
  DOMAIN,
  KIND,
  leaseWaits,
  notIn,
  openRig,
  sendMany,
  sentLogIds,
  serviceConfig,
  slowServer,
  until,
  type Rig,
} from "./kit.js";

const MESSAGES = 2_000;
const KILLS = 10;
const LEASE_MS = 3_000;

let rig: Rig;
let api: TestApp | undefined;

beforeAll(async () => {
  rig = await openRig("fault_crash", { script: slowServer(2, 12) });
});
afterAll(async () => {
  await api?.close();
  await rig?.close();
});

test("SIGKILL at random moments loses nothing; only in-flight messages are repeated, with the same Message-ID", async () => {
  const { sink, reader } = rig;
  // A row is rescued at most once per kill: with more rescues allowed than kills, none hits the limit.
  const config = serviceConfig([sinkAccount(1, sink.port, { max_connections: 8 })], {
    lease_ms: LEASE_MS,
    batch_size: 32,
    max_in_flight: 64,
    max_rescues: 11,
  });
  // Messages arrive through an API-only instance while the senders are being killed.
  api = await startTestApp({ db: rig.db, json: config, background: false });
  const enqueued = sendMany(emailClient(api.url), MESSAGES);
  enqueued.catch(() => undefined);

  for (let k = 0; k < KILLS; k++) {
    const child = await rig.start(config);
    // A random moment while it sends: after a random number of its own sends.
    const after = randomInt(20, 120);
    await until(() => expect(sentLogIds(child).length).toBeGreaterThanOrEqual(after), 60_000);
    child.kill("SIGKILL");
    expect(await child.exited).toBe("SIGKILL");
  }
  const last = await rig.start(config);
  const ids = await enqueued;
  await api.close();
  api = undefined;
  await until(async () => expect(await reader.statusCounts()).toEqual({ sent: MESSAGES }), 120_000, 250);
  last.kill("SIGTERM");
  expect(await last.exited).toBe(0);

  const rows = await reader.rows();
  expect(notIn(rows, "sent")).toEqual([]);
  const received = byOutboxId(sink.messages);
  expect([...received.keys()].sort((a, b) => a - b)).toEqual([...ids].sort((a, b) => a - b));

  // Every copy carries the row's Message-ID: the first attempt's, since a crash counts no attempt.
  const messageIds = new Map(rows.map((r) => [r.id, r.message_id]));
  for (const [id, copies] of received) {
    expect(messageIds.get(id)).toBe(`<outbox-${id}-0@${DOMAIN}>`);
    for (const copy of copies) expect(copy.messageId, `outbox ${id}`).toBe(messageIds.get(id));
  }

  // A repeated message was in flight at a kill: its lease was rescued (at least once per copy
  // beyond the first), never before it expired.
  const events = await reader.events([KIND.sending, KIND.leaseRescued]);
  const rescues = new Map<number, number>();
  for (const e of events) if (e.kind === KIND.leaseRescued) rescues.set(e.outbox_id, (rescues.get(e.outbox_id) ?? 0) + 1);
  const duplicates = [...received].filter(([, copies]) => copies.length > 1);
  for (const [id, copies] of duplicates) expect(rescues.get(id) ?? 0, `outbox ${id}`).toBeGreaterThanOrEqual(copies.length - 1);
  const waits = leaseWaits(events);
  expect(waits.length).toBeGreaterThan(0);
  // Claim and rescue times come from two processes' database clocks: allow their offsets to differ slightly.
  for (const w of waits) expect(w).toBeGreaterThanOrEqual(LEASE_MS - 50);

  console.log(
    `crash: ${KILLS} kills; sent ${rows.length}; received ${sink.messages.length} messages for ${received.size} outbox ids; ` +
      `duplicates ${duplicates.length} (extra copies ${sink.messages.length - received.size}); ` +
      `leases rescued ${waits.length}; max lease wait ${Math.max(...waits)} ms (lease ${LEASE_MS} ms)`,
  );
});
