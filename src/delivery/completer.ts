// Writes attempt outcomes in batches: outcomes that finish together share one transaction.
// While the database is unreachable the outcomes wait and are written when it is back.
import { finalize } from "../outbox/claims.js";
import type { Finalization } from "../outbox/outcome.js";
import type { Pool } from "../db/pool.js";
import type { Clock } from "../db/clock.js";
import type { Logger } from "../lib/log.js";
import { Drain } from "../lib/drain.js";

interface Waiting {
  fin: Finalization;
  resolve: (written: boolean) => void;
}

const MAX_BATCH = 100;
const FIRST_RETRY_MS = 100;

export class Completer {
  private queue: Waiting[] = [];
  private readonly drain = new Drain(
    () => this.queue.length > 0,
    () => this.writeBatch(),
  );
  private abandoned = false;
  /** The wait before writing again after a failed write. */
  private retryMs = FIRST_RETRY_MS;

  constructor(
    private readonly pool: Pool,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly onCommit: () => void,
  ) {}

  /** Resolves true once written, false if the lease was lost (another sender owns the row). */
  submit(fin: Finalization): Promise<boolean> {
    return new Promise((resolve) => {
      this.queue.push({ fin, resolve });
      this.drain.kick();
    });
  }

  /** Resolves when everything submitted so far is written (or abandoned). */
  idle(): Promise<void> {
    return this.drain.idle();
  }

  /** Stop retrying writes (shutdown timed out); the rows' leases will expire and be rescued. */
  abandon(): void {
    this.abandoned = true;
  }

  private async writeBatch(): Promise<void> {
    const batch = onePerRow(this.queue);
    try {
      const written = await finalize(
        this.pool,
        batch.map((w) => w.fin),
        this.clock.now(),
      );
      const taken = new Set(batch);
      this.queue = this.queue.filter((w) => !taken.has(w));
      this.onCommit();
      for (const w of batch) {
        if (!written.has(w.fin.id)) {
          const { id, accountId, messageId, errorClass } = w.fin;
          this.log.warn(
            { outbox_id: id, account_id: accountId, message_id: messageId, error_class: errorClass },
            "lease lost before finalize; outcome discarded",
          );
        }
        w.resolve(written.has(w.fin.id));
      }
      this.retryMs = FIRST_RETRY_MS;
    } catch (err) {
      if (this.abandoned) {
        for (const w of this.queue.splice(0)) w.resolve(false);
        return;
      }
      this.log.error({ err: errorText(err), pending: this.queue.length }, "finalize failed; will retry");
      await new Promise((r) => setTimeout(r, this.retryMs));
      this.retryMs = Math.min(this.retryMs * 2, 5_000);
    }
  }
}

/**
 * Up to MAX_BATCH outcomes, at most one per row: finalize reports rows by id, so a stale attempt's
 * outcome (its lease was rescued and the row claimed again) must not share a batch with the
 * current attempt's and pass for written.
 */
function onePerRow(queue: Waiting[]): Waiting[] {
  const ids = new Set<number>();
  const batch: Waiting[] = [];
  for (const w of queue) {
    if (batch.length === MAX_BATCH) break;
    if (ids.has(w.fin.id)) continue;
    ids.add(w.fin.id);
    batch.push(w);
  }
  return batch;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
