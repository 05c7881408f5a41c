// Finalize is fenced by the lease token: a sender whose lease is stale (wrong token, or the row
// was rescued and re-claimed) changes nothing, and writes no event.
import { afterAll, beforeAll, expect, test } from "vitest";
import { claimDue, finalize, rescueExpired, type Finalization } from "../../src/outbox/claims.js";
import { readEventsAfter, lastEventId } from "../../src/outbox/events.js";
import { getOutbox } from "../../src/outbox/store.js";
import { EventKind, type ClaimedMessage } from "../../src/outbox/types.js";
import { enqueueMany, lease, openOutboxDb, type OutboxDb } from "./outbox-db.js";

const NOW = 1_700_000_000_000;
let o: OutboxDb;

beforeAll(async () => {
  o = await openOutboxDb("finalize_fencing");
});
afterAll(() => o?.close());

function failed(c: ClaimedMessage, leaseToken = c.leaseToken): Finalization {
  return {
    id: c.id,
    accountId: c.accountId,
    leaseToken,
    messageId: c.messageId,
    status: "failed",
    retries: c.retries + 1,
    nextAttemptAt: NOW + 10_000,
    providerMessageId: null,
    error: "451 stale outcome",
    errorClass: "SMTP_TRANSIENT",
  };
}

test("a stale lease token changes nothing; the right one writes", async () => {
  const [id] = await enqueueMany(o.pool, 1, NOW);
  const [claim] = await claimDue(o.pool, 10, lease("w1", NOW), [1]);
  expect(claim?.id).toBe(id);
  const before = await getOutbox(o.pool, id!);
  const events = await lastEventId(o.pool);

  const written = await finalize(o.pool, [failed(claim!, claim!.leaseToken + 1)], NOW + 1);
  expect(written.size).toBe(0);
  expect(await getOutbox(o.pool, id!)).toEqual(before);
  expect(await lastEventId(o.pool)).toBe(events);

  expect([...(await finalize(o.pool, [failed(claim!)], NOW + 1))]).toEqual([id]);
  expect(await getOutbox(o.pool, id!)).toMatchObject({ status: "failed", retries: 1, lastError: "451 stale outcome" });
  const [event] = await readEventsAfter(o.pool, events, 10);
  expect(event).toMatchObject({ outboxId: id, kind: EventKind.failed, status: "failed", retries: 1 });
});

test("after a rescue and a re-claim, the first owner's finalize loses to the new owner's", async () => {
  const [id] = await enqueueMany(o.pool, 1, NOW);
  const [first] = await claimDue(o.pool, 10, lease("w1", NOW, 1_000), [1]);
  expect(first?.id).toBe(id);

  // not expired yet: nothing to rescue
  expect(await rescueExpired(o.pool, NOW + 999, 10, 5)).toEqual({ requeued: 0, dead: 0 });
  expect(await rescueExpired(o.pool, NOW + 1_000, 10, 5)).toEqual({ requeued: 1, dead: 0 });
  const rescued = await getOutbox(o.pool, id!);
  expect(rescued).toMatchObject({ status: "pending", retries: 0, nextAttemptAt: NOW + 1_000 });

  const [second] = await claimDue(o.pool, 10, lease("w2", NOW + 1_000), [1]);
  expect(second?.id).toBe(id);
  expect(second!.leaseToken).not.toBe(first!.leaseToken);
  expect(second!.messageId).toBe(first!.messageId);

  expect((await finalize(o.pool, [failed(first!)], NOW + 2_000)).size).toBe(0);
  expect(await getOutbox(o.pool, id!)).toMatchObject({ status: "sending", retries: 0, lastError: null });

  const sent: Finalization = {
    ...failed(second!),
    status: "sent",
    retries: 0,
    nextAttemptAt: null,
    providerMessageId: "smtp-ok",
    error: null,
    errorClass: null,
  };
  expect((await finalize(o.pool, [sent], NOW + 2_000)).size).toBe(1);
  // the stale owner again, after the new owner finished: still nothing
  expect((await finalize(o.pool, [failed(first!)], NOW + 3_000)).size).toBe(0);
  expect(await getOutbox(o.pool, id!)).toMatchObject({ status: "sent", retries: 0, providerMessageId: "smtp-ok", lastError: null });
});

test("one stale outcome in a batch: the others are written, each with its event, and the stale row is left as it was", async () => {
  const ids = await enqueueMany(o.pool, 3, NOW);
  const claims = await claimDue(o.pool, 10, lease("w3", NOW), [1]);
  expect(claims.map((c) => c.id).sort()).toEqual([...ids].sort());
  const events = await lastEventId(o.pool);

  const stale = claims[1]!;
  const written = await finalize(o.pool, [failed(claims[0]!), failed(stale, stale.leaseToken + 1), failed(claims[2]!)], NOW + 1);
  expect([...written].sort()).toEqual([claims[0]!.id, claims[2]!.id].sort());
  expect(await getOutbox(o.pool, stale.id)).toMatchObject({ status: "sending", retries: 0, lastError: null });
  const after = await readEventsAfter(o.pool, events, 10);
  expect(after.map((e) => e.outboxId).sort()).toEqual([claims[0]!.id, claims[2]!.id].sort());
  expect(after.map((e) => e.id)).toEqual([events + 1, events + 2]);
});
