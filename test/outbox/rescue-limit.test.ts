// A poison row (its sender keeps crashing or stalling on it) is not rescued forever: past
// sender.max_rescues with no attempt finished in between it goes DEAD as RESCUE_LIMIT, with an
// event; a finished attempt starts the count again.
import { afterAll, beforeAll, expect, test } from "vitest";
import { claimDue, finalize, rescueExpired } from "../../src/outbox/claims.js";
import { getOutbox } from "../../src/outbox/store.js";
import { EventKind } from "../../src/outbox/types.js";
import { createRescuer } from "../../src/maintenance/rescuer.js";
import { createLogger } from "../../src/lib/log.js";
import { ManualClock } from "../helpers/clock.js";
import { enqueueMany, lease, openOutboxDb, type OutboxDb } from "./outbox-db.js";

const NOW = 1_767_225_600_000;
const LEASE = 1_000;
let o: OutboxDb;

beforeAll(async () => {
  o = await openOutboxDb("rescue_limit");
});
afterAll(() => o?.close());

async function kinds(id: number): Promise<number[]> {
  const [rows] = (await o.pool.query("SELECT kind FROM outbox_event WHERE outbox_id = ? ORDER BY id", [id])) as unknown as [
    { kind: number }[],
  ];
  return rows.map((r) => r.kind);
}

/** Claims the row and lets its lease run out, `times` times; returns the clock after. */
async function stall(times: number, at: number, maxRescues: number) {
  const results = [];
  for (let i = 0; i < times; i++) {
    const claimed = await claimDue(o.pool, 10, lease(`stalling-${i}`, at, LEASE), [1]);
    expect(claimed).toHaveLength(1);
    at += LEASE;
    results.push(await rescueExpired(o.pool, at, 10, maxRescues));
  }
  return { at, results };
}

test("the third rescue with max_rescues 2 makes the row DEAD with RESCUE_LIMIT and an event", async () => {
  const [id] = await enqueueMany(o.pool, 1, NOW);
  const { at, results } = await stall(3, NOW, 2);
  expect(results).toEqual([
    { requeued: 1, dead: 0 },
    { requeued: 1, dead: 0 },
    { requeued: 0, dead: 1 },
  ]);
  const row = await getOutbox(o.pool, id!);
  expect(row).toMatchObject({ status: "dead", retries: 0, lastErrorClass: "RESCUE_LIMIT", nextAttemptAt: null });
  expect(row!.lastError).toContain("3 times");
  const s = EventKind.sending,
    r = EventKind.leaseRescued;
  expect(await kinds(id!)).toEqual([EventKind.created, s, r, s, r, s, EventKind.dead]);
  // Nothing more to claim.
  expect(await claimDue(o.pool, 10, lease("later", at, LEASE), [1])).toEqual([]);
});

test("a finished attempt resets the count", async () => {
  const [id] = await enqueueMany(o.pool, 1, NOW);
  let { at } = await stall(2, NOW, 2);
  const [claim] = await claimDue(o.pool, 10, lease("finishes", at, LEASE), [1]);
  await finalize(
    o.pool,
    [
      {
        id: id!,
        accountId: 1,
        leaseToken: claim!.leaseToken,
        messageId: claim!.messageId,
        status: "failed",
        retries: 1,
        nextAttemptAt: at,
        providerMessageId: null,
        error: "451 try later",
        errorClass: "SMTP_TRANSIENT",
      },
    ],
    at,
  );
  ({ at } = await stall(2, at, 2));
  expect(await getOutbox(o.pool, id!)).toMatchObject({ status: "failed", retries: 1 });
});

test("the rescuer reports requeued and dead rows for the metrics", async () => {
  const [id] = await enqueueMany(o.pool, 1, NOW);
  await claimDue(o.pool, 10, lease("crashed", NOW, LEASE), [1]);
  const clock = new ManualClock(NOW + LEASE);
  const seen: { requeued: number; dead: number }[] = [];
  const rescuer = createRescuer(
    o.pool,
    clock,
    createLogger("silent"),
    60_000,
    () => 0,
    () => undefined,
    (r) => seen.push(r),
  );
  expect(await rescuer.runOnce()).toBe(1);
  expect(seen).toEqual([{ requeued: 0, dead: 1 }]);
  expect(await getOutbox(o.pool, id!)).toMatchObject({ status: "dead", lastErrorClass: "RESCUE_LIMIT" });
});
