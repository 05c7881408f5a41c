// Returns rows whose lease expired (their sender crashed or stalled) to the queue. No attempt is
// counted, so the re-send carries the same Message-ID and receivers can de-duplicate it.
import type { Clock } from "../clock.js";
import type { Logger } from "../log.js";
import { rescueExpired } from "../outbox/claims.js";
import type { Pool } from "../outbox/db.js";

const BATCH = 500;

export class Rescuer {
  private timer?: NodeJS.Timeout;
  private running?: Promise<number>;

  constructor(
    private readonly pool: Pool,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly intervalMs: number,
    /** Called after rows were rescued, so the sender and watchers look at once. */
    private readonly onRescued: () => void,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.runOnce(), this.intervalMs);
    void this.runOnce();
  }

  /** One pass; rescues in batches until none is left. Returns the number rescued. */
  runOnce(): Promise<number> {
    this.running ??= this.rescueAll().finally(() => (this.running = undefined));
    return this.running;
  }

  private async rescueAll(): Promise<number> {
    let total = 0;
    try {
      for (;;) {
        const n = await rescueExpired(this.pool, this.clock.now(), BATCH);
        total += n;
        if (n < BATCH) break;
      }
    } catch (err) {
      this.log.error({ err: (err as Error).message }, "lease rescue failed");
    }
    if (total > 0) {
      this.log.warn({ rescued: total }, "rescued rows whose lease expired");
      this.onRescued();
    }
    return total;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}
