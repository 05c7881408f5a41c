// Deletes finished rows (sent, cancelled, dead, suppressed, expired) older than
// retention.outbox_ms, with their attachments and old events, in small batches: each batch is its
// own short transaction. Answered outbox_request rows go after the same time, received messages
// after retention.mail_message_ms.
import { Periodic } from "../lib/periodic.js";
import type { Clock } from "../db/clock.js";
import type { Config } from "../config/config.js";
import type { Logger } from "../lib/log.js";
import type { Pool } from "../db/pool.js";
import type { Fence } from "../db/fleet-lease.js";
import { deleteAnsweredRequestsBefore, deleteFinishedBefore, deleteReceivedBefore } from "../outbox/retention.js";

const INTERVAL_MS = 60_000;

export class OutboxRetention {
  private readonly loop: Periodic<number>;

  constructor(
    private readonly pool: Pool,
    private readonly clock: Clock,
    private readonly log: Logger,
    /** Read on every pass, so a reloaded config applies at the next one. */
    private readonly config: () => Config,
    private readonly onDeleted: (n: number) => void = () => undefined,
    intervalMs = INTERVAL_MS,
    /** The maintenance lease's fence: a holder whose lease moved on deletes nothing. */
    private readonly fence?: Fence,
  ) {
    this.loop = new Periodic(intervalMs, () => this.deleteAll());
  }

  /** Scheduled passes run only while `gate()` is true (see FleetLock). */
  gateWith(gate: () => boolean): void {
    this.loop.gateWith(gate);
  }

  start(): void {
    this.loop.start();
  }

  /** One pass; deletes batch after batch until nothing old is left. Returns the rows deleted. */
  runOnce(): Promise<number> {
    return this.loop.runOnce();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  private async deleteAll(): Promise<number> {
    let total = 0;
    try {
      while (!this.loop.stopped) {
        const { retention, watch } = this.config();
        const now = this.clock.now();
        const n = await deleteFinishedBefore(
          this.pool,
          now - retention.outboxMs,
          now - watch.eventRetentionMs,
          retention.batchSize,
          this.fence,
        );
        if (n === 0) break;
        total += n;
        this.onDeleted(n);
      }
      let received = 0;
      while (!this.loop.stopped) {
        const { retention } = this.config();
        const n = await deleteReceivedBefore(this.pool, this.clock.now() - retention.mailMessageMs, retention.batchSize);
        received += n;
        if (n < retention.batchSize) break;
      }
      if (received > 0) this.log.info({ deleted: received }, "deleted received messages past retention");
      let requests = 0;
      while (!this.loop.stopped) {
        const { retention } = this.config();
        const n = await deleteAnsweredRequestsBefore(this.pool, this.clock.now() - retention.outboxMs, retention.batchSize);
        requests += n;
        if (n < retention.batchSize) break;
      }
      if (requests > 0) this.log.info({ deleted: requests }, "deleted answered outbox requests past retention");
    } catch (err) {
      this.log.error({ err: (err as Error).message }, "outbox retention failed");
    }
    if (total > 0) this.log.info({ deleted: total }, "deleted finished outbox rows past retention");
    return total;
  }
}
