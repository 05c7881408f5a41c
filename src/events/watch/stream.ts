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

/**
 * The stream fell too far behind; resume after `lastEventId` (undefined: it was cut off during
 * the snapshot, which can only be started again).
 */
export class WatchOverflowError extends Error {
  override name = "WatchOverflowError";
  constructor(readonly lastEventId: number | undefined) {
    super("watch stream fell too far behind");
  }
}

/** The server is stopping; resume after `lastEventId` on another instance (undefined: as above). */
export class WatchShutdownError extends Error {
  override name = "WatchShutdownError";
  constructor(readonly lastEventId: number | undefined) {
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

/** The open stream as its content sees it (its StreamSlot). */
export interface WatchStream {
  /** Aborted when the stream ends in any way; the subscription is closed at once then. */
  readonly signal: AbortSignal;
  /** Ends the stream with this reason: its transport stops waiting for the client. */
  end(reason: unknown): void;
  /** Items its transport accepted that the client has not taken yet. */
  unsent(): number;
}

export async function* watchOutbox(deps: WatchDeps, q: WatchQuery, stream: WatchStream): AsyncGenerator<WatchItem> {
  const filter: EventFilter = {
    outboxIds: q.outboxIds?.length ? new Set(q.outboxIds) : undefined,
    accountIds: q.accountIds ? new Set(q.accountIds) : undefined,
    statuses: q.statuses?.length ? new Set(q.statuses) : undefined,
    tags: q.tags && Object.keys(q.tags).length ? Object.entries(q.tags) : undefined,
  };
  const { signal } = stream;
  // The last event handed on (undefined during a snapshot): where the client may resume.
  let cursor: number | undefined;
  // Live events taken from the subscription; those before `taken` are handed on.
  let batch: EventRow[] = [];
  let taken = 0;
  // Suspended at a yield: the transport has the item and may be waiting for a client that never
  // reads again, so nothing here would run to notice the subscription ending.
  let handedOn = false;
  const attach = (s: { sub: Subscription; from: number }) => {
    s.sub.held = () => batch.length - taken + stream.unsent();
    s.sub.onEnd = (reason) => {
      if (handedOn) stream.end(reason === "overflow" ? new WatchOverflowError(cursor) : new WatchShutdownError(cursor));
    };
    return s;
  };
  // Subscribe first: every event after `live` is buffered while the snapshot or catch-up runs.
  let { sub, from: live } = attach(deps.tailer.subscribe(filter));
  const close = () => sub.close();
  signal.addEventListener("abort", close);
  /** True once the stream has ended; throws the reason when this code cut it off. */
  const ended = (): boolean => {
    if (!signal.aborted) return false;
    if (signal.reason instanceof WatchOverflowError || signal.reason instanceof WatchShutdownError) throw signal.reason;
    return true;
  };
  try {
    if (ended()) return;
    if (q.includeCurrent) {
      const snap = await snapshotOutbox(deps.pool, {
        outboxIds: q.outboxIds?.length ? q.outboxIds : undefined,
        accountIds: q.accountIds,
        statuses: q.statuses ?? [],
        tags: q.tags,
        limit: SNAPSHOT_LIMIT + 1,
      });
      if (snap.rows.length > SNAPSHOT_LIMIT) throw new WatchSnapshotTooLargeError(SNAPSHOT_LIMIT);
      for (const row of snap.rows.reverse()) {
        if (ended()) return;
        handedOn = true;
        yield { kind: "snapshot", row };
        handedOn = false;
      }
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
      if (ended()) return;
      if (sub.ended === "shutdown") throw new WatchShutdownError(cursor);
      if (sub.ended === "overflow") ({ sub, from: live } = attach(resubscribe(deps.tailer, sub)));
      // A start ahead of the tailer (it can trail the table by a poll): what it still offers up to
      // the cursor is already here.
      sub.floor = cursor;
      if (cursor >= live) break;
      const page = await readEventsAfter(deps.pool, cursor, Math.min(CATCH_UP_PAGE, live - cursor));
      // Ids are gapless, so a page not starting right after the cursor means retention deleted
      // events this stream still needs (a race with checkResumable): refuse, never skip.
      if (page[0]?.id !== cursor + 1) throw outOfRange(cursor, page[0]?.id);
      for (const event of page) {
        if (ended()) return;
        cursor = event.id;
        if (!matches(filter, event)) continue;
        handedOn = true;
        yield { kind: "event", event };
        handedOn = false;
      }
    }

    // A heartbeat right away: clients (and proxies) see the stream is up, and learn a resume
    // point, without waiting for the first event or heartbeat interval.
    handedOn = true;
    yield { kind: "heartbeat", lastEventId: cursor };
    handedOn = false;

    for (;;) {
      if (ended()) return;
      batch = await sub.take(deps.heartbeatMs, signal);
      const idle = batch.length === 0;
      for (taken = 0; taken < batch.length; ) {
        const event = batch[taken++]!;
        if (ended()) return;
        if (event.id <= cursor) continue;
        cursor = event.id;
        handedOn = true;
        yield { kind: "event", event };
        handedOn = false;
      }
      batch = [];
      taken = 0;
      if (sub.ended === "overflow") throw new WatchOverflowError(cursor);
      if (sub.ended === "shutdown") throw new WatchShutdownError(cursor);
      // Idle with nothing buffered: every event up to the tailer's position was offered to this
      // subscription and, if it matched, delivered, so that position is a safe resume point.
      if (idle && sub.buffered === 0 && !ended()) {
        cursor = Math.max(cursor, deps.tailer.lastId);
        handedOn = true;
        yield { kind: "heartbeat", lastEventId: cursor };
        handedOn = false;
      }
    }
  } finally {
    signal.removeEventListener("abort", close);
    sub.onEnd = undefined;
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
