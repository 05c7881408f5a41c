// Claims the sender took but never started go back to the queue without costing an attempt: due
// at their account's turn (a rate-limited or paused account, a lane already full), or now (on
// stop). Hand-backs that come together share one transaction.
import type { Clock } from "../db/clock.js";
import { Drain } from "../lib/drain.js";
import type { Logger } from "../lib/log.js";
import type { SenderMetrics } from "../metrics/metrics.js";
import { releaseClaims } from "../outbox/claims.js";
import type { Pool } from "../db/pool.js";
import type { ClaimedMessage } from "../outbox/types.js";
import type { Job } from "./lane.js";

export interface HandBackOptions {
  pool: Pool;
  clock: Clock;
  log: Logger;
  metrics?: SenderMetrics;
  onCommit: () => void;
  /** The job no longer holds a lease here (handed back, or its lease left to expire). */
  settled: (job: Job) => void;
}

export class HandBack {
  private pending: { job: Job; dueAt: number }[] = [];
  private readonly drain = new Drain(
    () => this.pending.length > 0,
    () => this.writeBatch(),
  );

  constructor(private readonly o: HandBackOptions) {}

  /** Hands a job back with the others of this tick, due in `delayMs`. */
  later(job: Job, delayMs: number): void {
    this.pending.push({ job, dueAt: this.o.clock.now() + Math.ceil(delayMs) });
    this.o.metrics?.deferred(job.claim.accountId, 1);
    this.drain.kick();
  }

  /** Resolves once the hand-backs so far are written (or failed: their leases will expire). */
  flushed(): Promise<void> {
    return this.drain.idle();
  }

  /** Hands claims back at once, due now; if that fails, their leases expire. */
  async now(claims: ClaimedMessage[]): Promise<void> {
    const n = await this.release(claims);
    if (n !== undefined) this.o.log.info({ released: n }, "handed back unstarted claims");
  }

  private async writeBatch(): Promise<void> {
    const batch = this.pending.splice(0);
    const n = await this.release(batch.map(({ job, dueAt }) => ({ id: job.claim.id, leaseToken: job.claim.leaseToken, dueAt })));
    if (n !== undefined) {
      const last = batch[batch.length - 1]!;
      this.o.log.debug(
        {
          account_ids: [...new Set(batch.map((d) => d.job.claim.accountId))],
          deferred: batch.length,
          last_due_at: new Date(last.dueAt).toISOString(),
        },
        "handed back claims to wait for their account's turn",
      );
    }
    for (const { job } of batch) this.o.settled(job);
  }

  /** The rows handed back; undefined when the database failed (their leases will expire). */
  private async release(claims: Parameters<typeof releaseClaims>[1]): Promise<number | undefined> {
    try {
      const n = await releaseClaims(this.o.pool, claims, this.o.clock.now());
      this.o.onCommit();
      return n;
    } catch (err) {
      this.o.log.error({ err: (err as Error).message }, "could not hand back claims; their leases will expire");
      return undefined;
    }
  }
}
