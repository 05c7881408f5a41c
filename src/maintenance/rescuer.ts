// Returns rows whose lease expired (their sender crashed or stalled) to the queue. No attempt is
// counted, so the re-send carries the same Message-ID and receivers can de-duplicate it. A row
// that keeps coming back without an attempt ever finishing goes DEAD at the rescue limit.
import { Periodic } from "../lib/periodic.js";
import type { Clock } from "../db/clock.js";
import type { Logger } from "../lib/log.js";
import { rescueExpired, type Rescued } from "../outbox/claims.js";
import type { Pool } from "../db/pool.js";
import type { Fence } from "../db/fleet-lease.js";

const BATCH = 500;

/** start() / runOnce() / stop(); a pass rescues in batches until none is left and resolves with the count. */
export type Rescuer = Periodic<number>;

/**
 * `onRescued` runs after rows were rescued, so the sender and watchers look at once; `counted`
 * gets each pass's figures (for the metrics). `maxRescues()` is read per pass (reloads apply).
 */
export function createRescuer(
  pool: Pool,
  clock: Clock,
  log: Logger,
  intervalMs: number,
  maxRescues: () => number,
  onRescued: () => void,
  counted: (r: Rescued) => void = () => undefined,
  /** The maintenance lease's fence: a holder whose lease moved on rescues nothing. */
  fence?: Fence,
): Rescuer {
  return new Periodic(intervalMs, async () => {
    const total: Rescued = { requeued: 0, dead: 0 };
    try {
      for (;;) {
        const r = await rescueExpired(pool, clock.now(), BATCH, maxRescues(), fence);
        total.requeued += r.requeued;
        total.dead += r.dead;
        if (r.requeued + r.dead < BATCH) break;
      }
    } catch (err) {
      log.error({ err: (err as Error).message }, "lease rescue failed");
    }
    if (total.requeued + total.dead > 0) {
      log.warn({ rescued: total.requeued, dead_at_rescue_limit: total.dead }, "rescued rows whose lease expired");
      counted(total);
      onRescued();
    }
    return total.requeued + total.dead;
  });
}
