// Returns rows whose lease expired (their sender crashed or stalled) to the queue. No attempt is
// counted, so the re-send carries the same Message-ID and receivers can de-duplicate it.
import { Periodic } from "../background/periodic.js";
import type { Clock } from "../clock.js";
import type { Logger } from "../log.js";
import { rescueExpired } from "../outbox/claims.js";
import type { Pool } from "../outbox/db.js";

const BATCH = 500;

/** start() / runOnce() / stop(); a pass rescues in batches until none is left and resolves with the count. */
export type Rescuer = Periodic<number>;

/** `onRescued` runs after rows were rescued, so the sender and watchers look at once. */
export function createRescuer(pool: Pool, clock: Clock, log: Logger, intervalMs: number, onRescued: () => void): Rescuer {
  return new Periodic(intervalMs, async () => {
    let total = 0;
    try {
      for (;;) {
        const n = await rescueExpired(pool, clock.now(), BATCH);
        total += n;
        if (n < BATCH) break;
      }
    } catch (err) {
      log.error({ err: (err as Error).message }, "lease rescue failed");
    }
    if (total > 0) {
      log.warn({ rescued: total }, "rescued rows whose lease expired");
      onRescued();
    }
    return total;
  });
}
