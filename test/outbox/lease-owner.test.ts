// A lease owner from a long host name (a Kubernetes pod name, say) still fits lease_owner, so
// claims keep working under strict SQL mode; the pid and random part are kept whole.
import { afterAll, beforeAll, expect, test } from "vitest";
import { claimDue } from "../../src/outbox/claims.js";
import { LEASE_OWNER_MAX, leaseOwner } from "../../src/delivery/lease-owner.js";
import { enqueueMany, lease, openOutboxDb, type OutboxDb } from "./outbox-db.js";

const NOW = 1_767_225_600_000;
const LONG_HOST = `payments-email-outbox-7d9f8c6b5-${"x".repeat(80)}.svc.cluster.local`;
let o: OutboxDb;

beforeAll(async () => {
  o = await openOutboxDb("lease_owner");
});
afterAll(() => o?.close());

test("an owner from a 100+ character host name is cut to fit, keeping its unique tail", () => {
  const owner = leaseOwner(LONG_HOST, 4242);
  expect(owner.length).toBe(LEASE_OWNER_MAX);
  expect(owner).toMatch(/^payments-email-outbox-7d9f8c6b5-x+:4242:[0-9a-f]{8}$/);
  expect(leaseOwner(LONG_HOST, 4242)).not.toBe(owner);
  expect(leaseOwner("short", 1)).toMatch(/^short:1:[0-9a-f]{8}$/);
});

test("the database accepts claims under that owner (strict mode refuses a longer value)", async () => {
  const [mode] = (await o.pool.query("SELECT @@sql_mode AS m")) as unknown as [{ m: string }[]];
  expect(mode[0]!.m).toMatch(/STRICT_TRANS_TABLES|STRICT_ALL_TABLES/);
  await enqueueMany(o.pool, 3, NOW);
  const owner = leaseOwner(LONG_HOST, 4242);
  const claimed = await claimDue(o.pool, 3, lease(owner, NOW), [1]);
  expect(claimed).toHaveLength(3);
  const [rows] = (await o.pool.query("SELECT DISTINCT lease_owner FROM outbox WHERE status = 'sending'")) as unknown as [
    { lease_owner: string }[],
  ];
  expect(rows.map((r) => r.lease_owner)).toEqual([owner]);
  // The control: the uncut value is refused.
  await enqueueMany(o.pool, 1, NOW);
  await expect(claimDue(o.pool, 1, lease(`${LONG_HOST}:4242:abcdef12`, NOW), [1])).rejects.toThrow(/too long|Data too long/i);
});
