// Two senders (two pools, as two instances would have) claiming the same queue at once: SKIP
// LOCKED hands every due row to exactly one of them.
import { afterAll, beforeAll, expect, test } from "vitest";
import { claimDue } from "../../src/outbox/claims.js";
import type { Pool } from "../../src/db/pool.js";
import { readEventsAfter } from "../../src/outbox/events.js";
import { getOutbox } from "../../src/outbox/store.js";
import { EventKind } from "../../src/outbox/types.js";
import { enqueueMany, lease, openOutboxDb, type OutboxDb } from "./outbox-db.js";

const NOW = 1_700_000_000_000;
let o: OutboxDb;
let ids: number[];

beforeAll(async () => {
  o = await openOutboxDb("claim_race");
  ids = await enqueueMany(o.pool, 200, NOW);
});
afterAll(() => o?.close());

/** Claims small batches on `parallel` connections of one pool until a claim comes back empty. */
async function drain(pool: Pool, owner: string, parallel: number): Promise<number[]> {
  const got: number[] = [];
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      for (;;) {
        const claims = await claimDue(pool, 7, lease(owner, NOW), [1]);
        if (claims.length === 0) return;
        for (const c of claims) {
          expect(c.leaseToken).toBeGreaterThan(0);
          got.push(c.id);
        }
      }
    }),
  );
  return got;
}

test("two claimers racing get disjoint sets whose union is every due row", async () => {
  const [a, b] = await Promise.all([drain(o.openPool(4), "a", 3), drain(o.openPool(4), "b", 3)]);
  // both took part (small batches on several connections each make a walkover unlikely, but
  // correctness does not depend on it, so only disjointness and coverage are asserted)
  expect(new Set(a).size).toBe(a.length);
  expect(new Set(b).size).toBe(b.length);
  expect(a.filter((id) => new Set(b).has(id))).toEqual([]);
  expect([...a, ...b].sort((x, y) => x - y)).toEqual([...ids].sort((x, y) => x - y));
  const rows = await Promise.all(ids.map((id) => getOutbox(o.pool, id)));
  expect(rows.every((r) => r?.status === "sending" && r.messageId === `<outbox-${r.id}-0@mail.test>`)).toBe(true);
});

test("the claims wrote exactly one SENDING event per row", async () => {
  const sending = (await readEventsAfter(o.pool, 0, 10_000)).filter((e) => e.kind === EventKind.sending);
  expect(sending.map((e) => e.outboxId).sort((x, y) => x - y)).toEqual([...ids].sort((x, y) => x - y));
});
