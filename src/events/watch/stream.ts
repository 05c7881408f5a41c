// One WatchOutbox stream: an optional snapshot, then catch-up from the database up to the
// tailer's position, then the live tail, with heartbeats while idle. Each phase starts exactly
// where the previous one ended, so nothing is skipped or repeated.
import type { Pool } from "../../db/pool.js";
import { firstEventId, lastEventId, readEventsAfter } from "../../outbox/events.js";
import { snapshotOutbox } from "../../outbox/store.js";
import type { EventRow, OutboxRow, OutboxStatus, StringMap } from "../../outbox/types.js";
import type { EventFilter, Subscription } from "./subscription.js";
import { matches } from "./subscription.js";
import type { EventTailer } from "./tailer.js";

export interface WatchQuery {
  outboxIds?: number[];
  accountIds?: number[];
  statuses?: OutboxStatus[];
  /** Only rows carrying every one of these tags (name -> value). */
  tags?: StringMap;
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

/** More rows match than one snapshot may hold; a narrower filter is needed. */
export class WatchSnapshotTooLargeError extends Error {
  override name = "WatchSnapshotTooLargeError";
  constructor(readonly limit: number) {
    super(`more than ${limit} rows match include_current; narrow the filter`);
  }
}

/** The snapshot is read whole in one consistent read, so it is bounded rather than truncated. */
export const SNAPSHOT_LIMIT = 10_000;
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
    tags: q.tags && Object.keys(q.tags).length ? Object.entries(q.tags) : undefined,
  };
  // Subscribe first: every event after `live` is buffered while the snapshot or catch-up runs.
  let { sub, from: live } = deps.tailer.subscribe(filter);
  try {
    let cursor: number;
    if (q.includeCurrent) {
      const snap = await snapshotOutbox(deps.pool, {
        outboxIds: q.outboxIds?.length ? q.outboxIds : undefined,
        accountIds: q.accountIds,
        statuses: q.statuses ?? [],
        tags: q.tags,
        limit: SNAPSHOT_LIMIT + 1,
      });
      if (snap.rows.length > SNAPSHOT_LIMIT) throw new WatchSnapshotTooLargeError(SNAPSHOT_LIMIT);
      for (const row of snap.rows.reverse()) yield { kind: "snapshot", row };
      // The snapshot was read after subscribing, so it is at or past `live`: no gap.
      cursor = snap.lastEventId;
    } else if (q.afterEventId > 0) {
      await checkResumable(deps.pool, q.afterEventId);
      cursor = q.afterEventId;
    } else {
      // The live tail starts at the newest committed event. The tailer's position can trail it
      // by a poll interval while nobody watches, and older events must not reach this stream.
      cursor = Math.max(live, await lastEventId(deps.pool));
    }

    // Catch up from the table until live delivery covers the rest. A live buffer that overflowed
    // meanwhile (a long snapshot or catch-up) is replaced: the table still has every event.
    for (;;) {
      if (sub.ended === "shutdown") throw new WatchShutdownError(cursor);
      if (sub.ended === "overflow") ({ sub, from: live } = resubscribe(deps.tailer, sub));
      if (cursor >= live) break;
      const page = await readEventsAfter(deps.pool, cursor, Math.min(CATCH_UP_PAGE, live - cursor));
      // Ids are gapless, so a page not starting right after the cursor means retention deleted
      // events this stream still needs (a race with checkResumable): refuse, never skip.
      if (page[0]?.id !== cursor + 1) throw outOfRange(cursor, page[0]?.id);
      for (const event of page) {
        if (matches(filter, event)) yield { kind: "event", event };
        cursor = event.id;
      }
    }

    // A heartbeat right away: clients (and proxies) see the stream is up, and learn a resume
    // point, without waiting for the first event or heartbeat interval.
    yield { kind: "heartbeat", lastEventId: cursor };

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
      // Idle with nothing buffered: every event up to the tailer's position was offered to this
      // subscription and, if it matched, delivered, so that position is a safe resume point.
      if (events.length === 0 && sub.buffered === 0) {
        cursor = Math.max(cursor, deps.tailer.lastId);
        yield { kind: "heartbeat", lastEventId: cursor };
      }
    }
  } finally {
    sub.close();
  }
}

function resubscribe(tailer: EventTailer, old: Subscription): { sub: Subscription; from: number } {
  old.close();
  return tailer.subscribe(old.filter);
}

/** Refuses a resume point ahead of every event or behind what retention kept. */
async function checkResumable(pool: Pool, after: number): Promise<void> {
  const newest = await lastEventId(pool);
  if (after > newest) throw new WatchOutOfRangeError(`after_event_id ${after} is ahead of the newest event ${newest}`);
  const first = await firstEventId(pool);
  // With no event kept, everything up to the newest was deleted.
  if (after + 1 < (first || newest + 1)) throw outOfRange(after, first || undefined);
}

function outOfRange(after: number, oldestKept: number | undefined): WatchOutOfRangeError {
  const kept = oldestKept === undefined ? "" : `; the oldest kept is ${oldestKept}`;
  return new WatchOutOfRangeError(`events after ${after} were deleted by retention${kept}`);
}
