// GetOutboxActivity's counting on a manual clock: 60 minutes per account, settled minutes kept
// from the first read (later reads scan only the last minutes), the current minute read again
// once the 5 s cache is over, and minutes that fall out of the hour dropped.
import { afterAll, beforeAll, expect, test } from "vitest";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { OutboxActivity } from "../../src/api/handlers/outbox-activity.js";
import { EventKind } from "../../src/outbox/types.js";
import { ManualClock } from "../helpers/clock.js";
import { openOutboxDb, type OutboxDb } from "./outbox-db.js";

const MINUTE = 60_000;
/** The start of a minute, plus 30 s: "now" in the middle of it. */
const T0 = 1_700_000_000_000 - (1_700_000_000_000 % MINUTE) + 30_000;
const clock = new ManualClock(T0);
let o: OutboxDb;
let nextId = 1;

async function event(kind: number, accountId: number, at: number): Promise<void> {
  await o.pool.query(
    "INSERT INTO outbox_event (id, outbox_id, account_id, kind, status, retries, created_at) VALUES (?, 1, ?, ?, 'sent', 0, ?)",
    [nextId++, accountId, kind, at],
  );
}

beforeAll(async () => {
  o = await openOutboxDb("activity");
  await event(EventKind.sent, 1, T0 - 10 * MINUTE);
  await event(EventKind.sent, 2, T0 - 10 * MINUTE);
  await event(EventKind.failed, 1, T0 - 10 * MINUTE);
  await event(EventKind.dead, 2, T0 - 59 * MINUTE);
  await event(EventKind.sending, 1, T0); // not an outcome
  await event(EventKind.sent, 1, T0 - 61 * MINUTE); // over an hour ago
});
afterAll(() => o?.close());

/** The non-zero minutes as [minutes before now's minute, sent, failed]. */
async function shown(activity: OutboxActivity, accounts?: number[]): Promise<[number, number, number][]> {
  const minutes = await activity.minutes(accounts);
  expect(minutes).toHaveLength(60);
  const current = Math.floor(clock.now() / MINUTE) * MINUTE;
  expect(timestampMs(minutes[59]!.startTime!)).toBe(current);
  return minutes.filter((m) => m.sent || m.failed).map((m) => [(current - timestampMs(m.startTime!)) / MINUTE, m.sent, m.failed]);
}

test("counts per minute and account; settled minutes are not read again; the current one is, after the cache", async () => {
  const activity = new OutboxActivity(o.pool, clock);
  expect(await shown(activity)).toEqual([
    [59, 0, 1],
    [10, 2, 1],
  ]);
  expect(await shown(activity, [1])).toEqual([[10, 1, 1]]);
  expect(await shown(activity, [3])).toEqual([]);

  // A late event in a settled minute is not read again; one in the current minute is, once the
  // cached answer is 5 s old.
  await event(EventKind.sent, 1, T0 - 10 * MINUTE);
  await event(EventKind.failed, 1, T0 + 1000);
  clock.advance(4_999);
  expect(await shown(activity)).toEqual([
    [59, 0, 1],
    [10, 2, 1],
  ]);
  clock.advance(1);
  expect(await shown(activity)).toEqual([
    [59, 0, 1],
    [10, 2, 1],
    [0, 0, 1],
  ]);

  // Three minutes on: everything moves back three minutes, and the DEAD event leaves the hour.
  clock.advance(3 * MINUTE);
  await event(EventKind.sent, 2, clock.now());
  expect(await shown(activity)).toEqual([
    [13, 2, 1],
    [3, 0, 1],
    [0, 1, 0],
  ]);
  // A fresh instance reads the same from the events (with the late one, which it was not told about).
  expect(await shown(new OutboxActivity(o.pool, clock))).toEqual([
    [13, 3, 1],
    [3, 0, 1],
    [0, 1, 0],
  ]);
});
