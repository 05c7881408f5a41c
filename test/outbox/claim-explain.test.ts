// The claim query is served by idx_outbox_due exactly: a range scan in index order, no filesort,
// on a table that holds due, future, claimed and finished rows.
import { afterAll, beforeAll, expect, test } from "vitest";
import { CLAIM_SQL, claimDue, finalize } from "../../src/outbox/claims.js";
import { enqueueMany, lease, openOutboxDb, type OutboxDb } from "./outbox-db.js";

const NOW = 1_700_000_000_000;
const ROWS = 2000;
const dueAt = (i: number) => NOW - 3_600_000 + i * (7_200_000 / ROWS);
let o: OutboxDb;

beforeAll(async () => {
  o = await openOutboxDb("claim_explain");
  // 2000 rows enqueued an hour ago, send_at spread over the next two hours: half are due now.
  await enqueueMany(o.pool, ROWS, NOW - 3_600_000, dueAt, 10);
  // Some are claimed (sending), and some of those finished (sent/failed): due_at NULL or later.
  const claimed = await claimDue(o.pool, 600, lease("explain", NOW), [1]);
  expect(claimed).toHaveLength(600);
  await finalize(
    o.pool,
    claimed.slice(0, 400).map((c, i) => ({
      id: c.id, accountId: c.accountId, leaseToken: c.leaseToken, messageId: c.messageId,
      status: i % 2 ? "sent" : "failed", retries: i % 2, nextAttemptAt: i % 2 ? null : NOW + 10_000,
      providerMessageId: null, error: null, errorClass: null,
    })),
    NOW,
  );
  await o.pool.query("ANALYZE TABLE outbox");
}, 120_000);
afterAll(() => o?.close());

test("EXPLAIN of CLAIM_SQL uses idx_outbox_due without a filesort", async () => {
  const [plan] = (await o.pool.query(`EXPLAIN ${CLAIM_SQL}`, [NOW, [1], 32])) as unknown as [Record<string, unknown>[]];
  expect(plan).toHaveLength(1);
  const row = plan[0]!;
  expect(row.table).toBe("outbox");
  expect(row.key).toBe("idx_outbox_due");
  expect(row.type).toBe("range");
  expect(String(row.Extra ?? "")).not.toMatch(/filesort/i);
  expect(String(row.Extra ?? "")).not.toMatch(/temporary/i);
});

test("the query the plan describes claims the oldest due rows", async () => {
  const claimed = await claimDue(o.pool, 5, lease("explain-2", NOW), [1]);
  // the 600 oldest were claimed in beforeAll; these are the next five by due time
  expect(claimed.map((c) => c.nextAttemptAt!).sort((a, b) => a - b)).toEqual([600, 601, 602, 603, 604].map(dueAt));
});
