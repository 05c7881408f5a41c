// The claim queries are served by their indexes exactly: a range scan in index order, no filesort,
// on a table that holds due, future, claimed and finished rows.
import { afterAll, beforeAll, expect, test } from "vitest";
import { BULK_HANDICAP_MS, CLAIM_SQL, PACED_CLAIM_SQL, claimDue, finalize } from "../../src/outbox/claims.js";
import { enqueueMany, lease, openOutboxDb, type OutboxDb } from "./outbox-db.js";
import { lastDefinitionOf } from "../helpers/migrations.js";

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
      id: c.id,
      accountId: c.accountId,
      leaseToken: c.leaseToken,
      messageId: c.messageId,
      status: i % 2 ? "sent" : "failed",
      retries: i % 2,
      nextAttemptAt: i % 2 ? null : NOW + 10_000,
      providerMessageId: null,
      error: null,
      errorClass: null,
    })),
    NOW,
  );
  await o.pool.query("ANALYZE TABLE outbox");
}, 120_000);
afterAll(() => o?.close());

test.each([
  ["CLAIM_SQL", CLAIM_SQL, [NOW + BULK_HANDICAP_MS, NOW, [1], 32], "idx_outbox_claim"],
  ["PACED_CLAIM_SQL", PACED_CLAIM_SQL, [1, NOW + BULK_HANDICAP_MS, NOW, 32], "idx_outbox_account_claim"],
])("EXPLAIN of %s uses its index without a filesort", async (_, sql, args, index) => {
  const [plan] = (await o.pool.query(`EXPLAIN ${sql}`, args)) as unknown as [Record<string, unknown>[]];
  expect(plan).toHaveLength(1);
  const row = plan[0]!;
  expect(row.table).toBe("outbox");
  expect(row.key).toBe(index);
  expect(row.type).toBe("range");
  expect(String(row.Extra ?? "")).not.toMatch(/filesort/i);
  expect(String(row.Extra ?? "")).not.toMatch(/temporary/i);
});

test("the bulk handicap in the claim index's column is the one the claim uses", () => {
  expect(lastDefinitionOf("claim_at").sql).toContain(`next_attempt_at + priority * ${BULK_HANDICAP_MS}`);
});

test("the query the plan describes claims the oldest due rows", async () => {
  const claimed = await claimDue(o.pool, 5, lease("explain-2", NOW), [1]);
  // the 600 oldest were claimed in beforeAll; these are the next five by due time
  expect(claimed.map((c) => c.nextAttemptAt!).sort((a, b) => a - b)).toEqual([600, 601, 602, 603, 604].map(dueAt));
});
