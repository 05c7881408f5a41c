// One WatchOutbox stream: an optional snapshot, then catch-up from the database up to the
// tailer's position, then the live tail, with heartbeats while idle. Each phase starts exactly
// where the previous one ended, so nothing is skipped or repeated.
import type { Pool } from "../outbox/db.js";
import { firstEventId, lastEventId, readEventsAfter } from "../outbox/events.js";
import { snapshotOutbox } from "../outbox/store.js";
import type { EventRow, OutboxRow, OutboxStatus } from "../outbox/types.js";
import { matches, type EventFilter } from "./subscription.js";
import type { EventTailer } from "./tailer.js";

export interface WatchQuery {
  outboxIds?: number[];
  accountIds?: number[];
  statuses?: OutboxStatus[];
  afterEventId: number;
  includeCurrent: boolean;
}

export type WatchItem =
  | { kind: "snapshot"; row: OutboxRow }
  | { kind: "event"; event: EventRow }
  | { kind: "heartbeat"; lastEventId: number };

/** The stream fell too far behind; resume after `lastEventId`. */
export class WatchOverflowError extends Error {
  override name = "WatchOverflowError";
  constructor(readonly lastEventId: number) {
    super("watch stream fell too far behind");
  }
}

/** The server is stopping; resume after `lastEventId` on another instance. */
export class WatchShutdownError extends Error {
  override name = "WatchShutdownError";
  constructor(readonly lastEventId: number) {
    super("server is stopping");
  }
}

/** Resuming from an event that retention already deleted would skip events. */
export class WatchOutOfRangeError extends Error {
  override name = "WatchOutOfRangeError";
}

const SNAPSHOT_LIMIT = 1000;
const CATCH_UP_PAGE = 500;

export interface WatchDeps {
  pool: Pool;
  tailer: EventTailer;
  heartbeatMs: number;
}

export async function* watchOutbox(deps: WatchDeps, q: WatchQuery, signal: AbortSignal): AsyncGenerator<WatchItem> {
  const filter: EventFilter = {
    outboxIds: q.outboxIds?.length ? new Set(q.outboxIds) : undefined,
    accountIds: q.accountIds ? new Set(q.accountIds) : undefined,
    statuses: q.statuses?.length ? new Set(q.statuses) : undefined,
  };
  let { sub, from: live } = deps.tailer.subscribe(filter);
  try {
    let cursor: number;
    if (q.includeCurrent) {
      const snap = await snapshotOutbox(deps.pool, {
        outboxIds: q.outboxIds?.length ? q.outboxIds : undefined,
        accountIds: q.accountIds,
        statuses: q.statuses ?? [],
        limit: SNAPSHOT_LIMIT,
      });
      for (const row of snap.rows.reverse()) yield { kind: "snapshot", row };
      cursor = snap.lastEventId;
    } else if (q.afterEventId > 0) {
      await checkResumable(deps.pool, q.afterEventId);
      cursor = q.afterEventId;
    } else {
      cursor = live;
    }

    // Catch up from the table until live delivery covers the rest. If the live buffer overflowed
    // meanwhile, subscribe again: the table still has everything.
    while (cursor < live) {
      const page = await readEventsAfter(deps.pool, cursor, CATCH_UP_PAGE);
      for (const event of page) {
        if (event.id > live) break;
        if (matches(filter, event)) yield { kind: "event", event };
        cursor = event.id;
      }
      if (page.length === 0) break;
      if (sub.ended === "overflow") {
        sub.close();
        ({ sub, from: live } = deps.tailer.subscribe(filter));
      }
    }

    for (;;) {
      const events = await sub.take(deps.heartbeatMs, signal);
      if (signal.aborted) return;
      for (const event of events) {
        if (event.id <= cursor) continue;
        yield { kind: "event", event };
        cursor = event.id;
      }
      if (sub.ended === "overflow") throw new WatchOverflowError(cursor);
      if (sub.ended === "shutdown") throw new WatchShutdownError(cursor);
      // Idle with nothing buffered: every event up to the tailer's position was seen (or did not
      // match), so the heartbeat can carry that position as a safe resume point.
      if (events.length === 0 && sub.buffered === 0) {
        cursor = Math.max(cursor, deps.tailer.lastId);
        yield { kind: "heartbeat", lastEventId: cursor };
      }
    }
  } finally {
    sub.close();
  }
}

async function checkResumable(pool: Pool, after: number): Promise<void> {
  const newest = await lastEventId(pool);
  if (after > newest) throw new WatchOutOfRangeError(`after_event_id ${after} is ahead of the newest event ${newest}`);
  const first = await firstEventId(pool);
  const oldestKept = first === 0 ? newest + 1 : first;
  if (after + 1 < oldestKept) {
    throw new WatchOutOfRangeError(`events after ${after} were deleted by retention; the oldest kept is ${oldestKept}`);
  }
}
