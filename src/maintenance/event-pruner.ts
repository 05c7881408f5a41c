// Deletes events older than the retention age, in small batches so no statement holds locks
// for long. A stream that resumes from a deleted event is refused with OUT_OF_RANGE (stream.ts).
import { Periodic } from "../lib/periodic.js";
import type { Clock } from "../db/clock.js";
import type { Logger } from "../lib/log.js";
import type { Pool } from "../db/pool.js";
import { deleteEventsBefore } from "../outbox/event-retention.js";
import type { Fence } from "../db/fleet-lease.js";

const BATCH = 1000;

/** Often enough that the table overshoots retention by a tenth at most; at most once a minute. */
export function pruneIntervalMs(retentionMs: number): number {
  return Math.min(60_000, Math.max(1_000, Math.floor(retentionMs / 10)));
}

/** start() / runOnce() / stop(); a pass resolves with the number of events deleted. */
export type EventPruner = Periodic<number>;

export function createEventPruner(pool: Pool, clock: Clock, log: Logger, retentionMs: number, batch = BATCH, fence?: Fence): EventPruner {
  const loop: EventPruner = new Periodic(pruneIntervalMs(retentionMs), async () => {
    let total = 0;
    try {
      while (!loop.stopped) {
        const n = await deleteEventsBefore(pool, clock.now() - retentionMs, batch, fence);
        total += n;
        if (n < batch) break;
      }
    } catch (err) {
      log.error({ err: (err as Error).message }, "event pruning failed");
    }
    if (total > 0) log.info({ deleted: total }, "deleted events past retention");
    return total;
  });
  return loop;
}
