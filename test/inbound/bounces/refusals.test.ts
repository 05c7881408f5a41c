// The account-level sender signal read from the database: counts per account and sender-class
// reason within the window, the latest of each, an account's own classes, and both queries served
// by idx_outbox_recipient_reason (a range scan of the index, no filesort, no temporary table) on a
// table that holds every kind of report of several accounts.
import { afterAll, beforeAll, expect, test } from "vitest";
import { COUNT_SQL, LATEST_SQL, REFUSAL_WINDOW_MS, senderRefusals } from "../../../src/inbound/bounces/refusals.js";
import { parseReasonClasses, type ReasonClasses } from "../../../src/config/reason-classes.js";
import { BOUNCE_REASONS } from "../../../src/message/bounce-reasons.js";
import { enqueueMany, openOutboxDb, type OutboxDb } from "../../outbox/outbox-db.js";

const NOW = 1_700_000_000_000;
const SINCE = NOW - REFUSAL_WINDOW_MS;
let o: OutboxDb;

beforeAll(async () => {
  o = await openOutboxDb("refusals");
  const ids = await enqueueMany(o.pool, 600, NOW - 3 * REFUSAL_WINDOW_MS);
  // 3,000 reports: 5 per row, accounts 1..3, every reason for each, spread over three days.
  const rows = ids.flatMap((id, i) =>
    Array.from({ length: 5 }, (_, j) => {
      const n = i * 5 + j;
      const reason = BOUNCE_REASONS[n % BOUNCE_REASONS.length]!;
      return [
        id,
        `r${n}@d${n % 7}.example`,
        1 + (n % 3),
        "bounced",
        "5.0.0",
        `diagnostic ${n}`,
        reason,
        "550",
        NOW - 3 * REFUSAL_WINDOW_MS + n * 86_400,
      ];
    }),
  );
  await o.pool.query(
    "INSERT INTO outbox_recipient (outbox_id, address, account_id, state, status_code, diagnostic, bounce_reason, reply_code, updated_at) VALUES ?",
    [rows],
  );
  await o.pool.query("ANALYZE TABLE outbox_recipient");
}, 120_000);
afterAll(() => o?.close());

test("counts each account's sender-class reasons within the window, with the latest recipient's domain and diagnostic", async () => {
  const moved = parseReasonClasses({ blocked: "soft", mailbox_full: "sender" }, "x") as { classes: ReasonClasses };
  const got = await senderRefusals(o.pool, [{ id: 1 }, { id: 2, reasonClasses: moved.classes }, { id: 9 }], SINCE);
  const [[expected]] = (await o.pool.query(
    "SELECT COUNT(*) AS n, MAX(updated_at) AS latest FROM outbox_recipient WHERE account_id = 1 AND bounce_reason = 'blocked' AND updated_at >= ?",
    [SINCE],
  )) as unknown as [[{ n: number; latest: number }]];
  expect(Number(expected.n)).toBeGreaterThan(0);
  const blocked = got.get(1)!.find((r) => r.reason === "blocked")!;
  expect(blocked).toMatchObject({ count: Number(expected.n), latestAt: Number(expected.latest) });
  const n = (blocked.latestAt - (NOW - 3 * REFUSAL_WINDOW_MS)) / 86_400;
  expect(blocked).toMatchObject({ latestDiagnostic: `diagnostic ${n}`, latestDomain: `d${n % 7}.example` });
  // Only sender-class reasons, the most frequent first; none for an account without reports.
  expect(
    got
      .get(1)!
      .map((r) => r.reason)
      .sort(),
  ).toEqual([
    "blocked",
    "content_error",
    "filtered",
    "message_too_big",
    "policy_violation",
    "rejected",
    "spam_detected",
    "syntax_error",
    "virus_detected",
  ]);
  const counts = got.get(1)!.map((r) => r.count);
  expect(counts).toEqual([...counts].sort((a, b) => b - a));
  expect(got.has(9)).toBe(false);
  // Account 2 moved blocked out of the sender class and mailbox_full into it.
  expect(got.get(2)!.map((r) => r.reason)).toContain("mailbox_full");
  expect(got.get(2)!.map((r) => r.reason)).not.toContain("blocked");
});

test.each([
  ["COUNT_SQL", COUNT_SQL, [[1, 2, 3], ["blocked", "spam_detected", "policy_violation"], SINCE], "range"],
  ["LATEST_SQL", LATEST_SQL, [1, "blocked", NOW - REFUSAL_WINDOW_MS / 2], "ref"],
])("EXPLAIN of %s uses idx_outbox_recipient_reason without a filesort", async (_, sql, args, type) => {
  const [plan] = (await o.pool.query(`EXPLAIN ${sql}`, args)) as unknown as [Record<string, unknown>[]];
  const row = plan.find((r) => r.table === "outbox_recipient")!;
  expect(row.key).toBe("idx_outbox_recipient_reason");
  expect(row.type).toBe(type);
  expect(String(row.Extra ?? "")).not.toMatch(/filesort|temporary/i);
  // The counts are read from the index alone.
  if (type === "range") expect(String(row.Extra)).toMatch(/Using index(?! condition)/);
});
