// Expiry at the claim, on the real database: a queued row falls due at its expiry even when its
// next attempt is later (transactional or bulk), the claim that finds it past its expiry moves it
// to EXPIRED with its event instead of leasing it, a rate-limited account's expired rows take no
// start slot, and RetryOutbox refuses a row past its expiry.
import { afterAll, beforeAll, expect, test } from "vitest";
import { claimDue, claimForRetry, finalize, rescueExpired } from "../../src/outbox/claims.js";
import { enqueue } from "../../src/outbox/enqueue.js";
import { getOutbox } from "../../src/outbox/store.js";
import { OutboxError } from "../../src/outbox/errors.js";
import { EventKind, type NewMessage } from "../../src/outbox/types.js";
import { lease, message, openOutboxDb, type OutboxDb } from "./outbox-db.js";

const NOW = 1_767_225_600_000;
const MINUTE = 60_000;
let o: OutboxDb;
let account = 0;

beforeAll(async () => {
  o = await openOutboxDb("expiry");
});
afterAll(() => o?.close());

async function kinds(id: number): Promise<number[]> {
  const [rows] = (await o.pool.query("SELECT kind FROM outbox_event WHERE outbox_id = ? ORDER BY id", [id])) as unknown as [
    { kind: number }[],
  ];
  return rows.map((r) => r.kind);
}

/** A row of an account of its own (claims of other tests never see it), committed at NOW. */
async function commit(overrides: Partial<NewMessage> = {}): Promise<{ id: number; accountId: number }> {
  const accountId = ++account;
  const { row } = await enqueue(o.pool, message(NOW, { accountId, ...overrides }), NOW);
  return { id: row.id, accountId };
}

/** Claims the row at NOW and fails it, next attempt an hour later. */
async function failOnce(accountId: number): Promise<void> {
  const [claim] = await claimDue(o.pool, 10, lease("expiry", NOW), [accountId]);
  const written = await finalize(
    o.pool,
    [
      {
        id: claim!.id,
        accountId,
        leaseToken: claim!.leaseToken,
        messageId: claim!.messageId,
        status: "failed",
        retries: 1,
        nextAttemptAt: NOW + 60 * MINUTE,
        providerMessageId: null,
        error: "451 later",
        errorClass: "SMTP_TRANSIENT",
      },
    ],
    NOW,
  );
  expect(written.has(claim!.id)).toBe(true);
}

test("a due row past its expiry is EXPIRED by the claim, not leased", async () => {
  const { id, accountId } = await commit({ expireAt: NOW + MINUTE });
  expect(await claimDue(o.pool, 10, lease("expiry", NOW + MINUTE), [accountId])).toEqual([]);
  expect(await getOutbox(o.pool, id)).toMatchObject({ status: "expired", nextAttemptAt: null, retries: 0, expireAt: NOW + MINUTE });
  expect(await kinds(id)).toEqual([EventKind.created, EventKind.expired]);
});

test.each(["transactional", "bulk"] as const)(
  "a %s row waiting for a retry falls due at its expiry, before its next attempt",
  async (priority) => {
    const { id, accountId } = await commit({ expireAt: NOW + 10 * MINUTE, priority });
    await failOnce(accountId);
    // Not yet expired, and its retry is not due: nothing to claim.
    expect(await claimDue(o.pool, 10, lease("expiry", NOW + 10 * MINUTE - 1), [accountId])).toEqual([]);
    expect((await getOutbox(o.pool, id))!.status).toBe("failed");
    // Its expiry: the claim expires it, 50 minutes before its retry would have been due.
    expect(await claimDue(o.pool, 10, lease("expiry", NOW + 10 * MINUTE), [accountId])).toEqual([]);
    expect(await getOutbox(o.pool, id)).toMatchObject({ status: "expired", retries: 1, lastError: "451 later" });
    expect(await kinds(id)).toEqual([EventKind.created, EventKind.sending, EventKind.failed, EventKind.expired]);
  },
);

test("a claim expires what expired and leases the rest, in one transaction", async () => {
  const { id: expiring, accountId } = await commit({ expireAt: NOW + MINUTE });
  const { row: live } = await enqueue(o.pool, message(NOW, { accountId }), NOW);
  const claims = await claimDue(o.pool, 10, lease("expiry", NOW + 2 * MINUTE), [accountId]);
  expect(claims.map((c) => c.id)).toEqual([live.id]);
  expect((await getOutbox(o.pool, expiring))!.status).toBe("expired");
});

test("a row whose lease runs out after its expiry is rescued due now, and the next claim expires it", async () => {
  const { id, accountId } = await commit({ expireAt: NOW + MINUTE });
  expect(await claimDue(o.pool, 10, lease("stalls", NOW, 1_000), [accountId])).toHaveLength(1);
  expect(await rescueExpired(o.pool, NOW + 2 * MINUTE, 10, 5)).toMatchObject({ requeued: 1 });
  expect(await claimDue(o.pool, 10, lease("expiry", NOW + 2 * MINUTE), [accountId])).toEqual([]);
  expect(await kinds(id)).toEqual([EventKind.created, EventKind.sending, EventKind.leaseRescued, EventKind.expired]);
});

test("a rate-limited account's expired rows take no start slot", async () => {
  const { id: expiring, accountId } = await commit({ expireAt: NOW + MINUTE });
  const { row: live } = await enqueue(o.pool, message(NOW, { accountId }), NOW);
  // One start at once, the next an hour later: the one slot goes to the live row.
  const pacing = { accounts: [{ id: accountId, maxPerSecond: 1 / 3600, burst: 1, max: 10 }], horizonMs: 2_000 };
  const claims = await claimDue(o.pool, 10, lease("expiry", NOW + 2 * MINUTE), [], pacing);
  expect(claims.map((c) => [c.id, c.notBefore])).toEqual([[live.id, NOW + 2 * MINUTE]]);
  expect((await getOutbox(o.pool, expiring))!.status).toBe("expired");
});

test("RetryOutbox of a row past its expiry is refused with MESSAGE_EXPIRED and changes nothing", async () => {
  const { id, accountId } = await commit({ expireAt: NOW + 10 * MINUTE });
  await failOnce(accountId);
  const refused = await claimForRetry(o.pool, id, true, lease("retry", NOW + 11 * MINUTE)).catch((err: unknown) => err);
  expect(refused).toBeInstanceOf(OutboxError);
  expect(refused).toMatchObject({ reason: "MESSAGE_EXPIRED", metadata: { expire_at: new Date(NOW + 10 * MINUTE).toISOString() } });
  expect((await getOutbox(o.pool, id))!.status).toBe("failed");
  // Before its expiry it is retried as ever.
  const { id: other, accountId: otherAccount } = await commit({ expireAt: NOW + 10 * MINUTE });
  await failOnce(otherAccount);
  expect((await claimForRetry(o.pool, other, true, lease("retry", NOW + 9 * MINUTE))).status).toBe("sending");
});
