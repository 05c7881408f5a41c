// One account limited to 5/s, three instances sharing its backlog: the SMTP server sees 5 per
// second, not 15, and still 5 per second after one instance is killed (the fleet-wide pace lives in
// the database, not in any one instance).
import { afterAll, beforeAll, expect, test } from "vitest";
import { sinkAccount } from "../helpers/app.js";
import { enqueueOffline, openRig, sentLogIds, serviceConfig, until, type Rig } from "./kit.js";

const RATE = 5;
const BACKLOG = 120;
const MEASURED = 30;
/** Start slots are taken up to this far ahead (sender hold window: max(2 s, 2 polls)). */
const HOLD_MS = 2_000;

let rig: Rig;
const arrivals: number[] = [];

beforeAll(async () => {
  rig = await openRig("fault_fleet_rate", {
    script: (stage) => {
      if (stage === "data") arrivals.push(Date.now());
      return undefined;
    },
  });
});
afterAll(async () => {
  await rig?.close();
});

/** Arrivals per second over a run of n arrivals: (n - 1) gaps over the time they span. */
function rateOf(times: number[]): number {
  return ((times.length - 1) * 1000) / (times[times.length - 1]! - times[0]!);
}

test(`three instances hold an account to ${RATE}/s together, and after one is killed`, async () => {
  const account = { ...sinkAccount(1, rig.sink.port, { max_connections: 2 }), rate_limit: { max_per_second: RATE, burst: 1 } };
  // A long lease: the killed instance's unstarted claims stay out of the way for the whole run.
  const config = serviceConfig([account], { lease_ms: 120_000 });
  await enqueueOffline(rig.db, config, BACKLOG);
  await Promise.all([0, 1, 2].map(() => rig.start(config)));

  await until(() => expect(arrivals.length).toBeGreaterThanOrEqual(MEASURED), 30_000, 50);
  const before = rateOf(arrivals.slice(0, MEASURED));
  // The instance that sent the most is killed: slots go first come, first served, so which
  // instances take part is not fixed, but the one killed surely did.
  const victim = [...rig.services].sort((a, b) => sentLogIds(b).length - sentLogIds(a).length)[0]!;
  expect(sentLogIds(victim).length).toBeGreaterThan(0);
  victim.kill("SIGKILL");
  const killedAt = Date.now();
  await victim.exited;

  // The slots the victim had taken for claims it never started are a one-off gap of at most the
  // hold window; from then on the two survivors share the pace.
  const steadyFrom = killedAt + HOLD_MS + 500;
  await until(() => expect(arrivals.filter((t) => t >= steadyFrom).length).toBeGreaterThanOrEqual(MEASURED), 40_000, 50);
  const after = rateOf(arrivals.filter((t) => t >= steadyFrom).slice(0, MEASURED));

  console.log(`fleet rate: ${before.toFixed(2)}/s with 3 instances, ${after.toFixed(2)}/s with 2 (limit ${RATE}/s)`);
  expect(before).toBeGreaterThan(RATE * 0.9);
  expect(before).toBeLessThan(RATE * 1.1);
  expect(after).toBeGreaterThan(RATE * 0.9);
  expect(after).toBeLessThan(RATE * 1.1);
  // Nothing was sent twice.
  const ids = rig.sink.messages.map((m) => m.messageId);
  expect(new Set(ids).size).toBe(ids.length);
}, 120_000);
