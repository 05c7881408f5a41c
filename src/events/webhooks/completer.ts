// Webhook outcomes are written in batches: whatever finished while the last write was under way
// goes in the next transaction, so a busy endpoint costs one commit per batch, not per event.
import { Drain } from "../../lib/drain.js";
import type { Pool } from "../../db/pool.js";
import { finishDeliveries, type Finished } from "../../outbox/webhook-deliveries.js";

interface Queued extends Finished {
  done: (written: boolean) => void;
  fail: (err: unknown) => void;
}

export class WebhookCompleter {
  private queue: Queued[] = [];
  // The first outcome is written at once: an endpoint's deliveries finish one by one anyway.
  private readonly drain = new Drain(
    () => this.queue.length > 0,
    () => this.writeAll(),
    { sameTick: false },
  );

  constructor(
    private readonly pool: Pool,
    private readonly now: () => number,
  ) {}

  /** Resolves true once written, false when the lease was lost; rejects if the write failed. */
  finish(f: Finished): Promise<boolean> {
    return new Promise((done, fail) => {
      this.queue.push({ ...f, done, fail });
      this.drain.kick();
    });
  }

  private async writeAll(): Promise<void> {
    const batch = this.queue;
    this.queue = [];
    try {
      const written = await finishDeliveries(this.pool, batch, this.now());
      for (const q of batch) q.done(written.has(q));
    } catch (err) {
      for (const q of batch) q.fail(err);
    }
  }
}
