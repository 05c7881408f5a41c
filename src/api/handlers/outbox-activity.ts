// GetOutboxActivity: sent and failed attempts per minute over the last hour. Minutes that are
// over are counted once and kept; each refresh reads only the last few minutes of events, for
// every account at once, and that read is shared by all callers for a few seconds (a dashboard
// polls it). Each answer then keeps only the accounts its caller may read.
import type { ActivityMinute } from "../../../gen/email/v1/email_service_pb.js";
import type { Clock } from "../../db/clock.js";
import { readOutcomeCounts, type OutcomeCount } from "../../outbox/activity.js";
import type { Pool } from "../../db/pool.js";
import { time } from "./mapping.js";

const MINUTES = 60;
const MINUTE_MS = 60_000;
/**
 * A minute this far behind the current one no longer changes: events carry the time of their
 * commit, and a commit takes seconds at most.
 */
const SETTLE_MINUTES = 2;
/** The proto promises answers at most 5 s old. */
const TTL_MS = 5_000;
const QUERY_TIMEOUT_MS = 5_000;

type Minute = Pick<ActivityMinute, "startTime" | "sent" | "failed">;

export class OutboxActivity {
  /** Counts of minutes that are over, by minute (an empty list for a quiet one). */
  private readonly settled = new Map<number, OutcomeCount[]>();
  private cached?: { at: number; counts: Promise<OutcomeCount[]> };

  constructor(
    private readonly pool: Pool,
    private readonly clock: Clock,
  ) {}

  /** `accountIds` undefined: every account. */
  async minutes(accountIds: readonly number[] | undefined): Promise<Minute[]> {
    const now = this.clock.now();
    const current = Math.floor(now / MINUTE_MS);
    const first = current - (MINUTES - 1);
    const counts = await this.counts(now);
    const minutes = Array.from({ length: MINUTES }, (_, i) => ({ startTime: time((first + i) * MINUTE_MS), sent: 0, failed: 0 }));
    const only = accountIds && new Set(accountIds);
    for (const c of counts) {
      const minute = minutes[c.minute - first];
      if (!minute || (only && !only.has(c.accountId))) continue;
      minute[c.outcome] += c.count;
    }
    return minutes;
  }

  private counts(now: number): Promise<OutcomeCount[]> {
    if (this.cached && now - this.cached.at < TTL_MS) return this.cached.counts;
    const counts = this.read(Math.floor(now / MINUTE_MS));
    const entry = { at: now, counts };
    this.cached = entry;
    // A failed read is not kept: the next call asks again.
    counts.catch(() => {
      if (this.cached === entry) this.cached = undefined;
    });
    return counts;
  }

  /** The last hour's counts: settled minutes from memory, the rest from the events. */
  private async read(current: number): Promise<OutcomeCount[]> {
    const first = current - (MINUTES - 1);
    for (const minute of this.settled.keys()) if (minute < first) this.settled.delete(minute);
    let from = first;
    while (this.settled.has(from)) from++;
    const fresh = await readOutcomeCounts(this.pool, from * MINUTE_MS, QUERY_TIMEOUT_MS);
    for (let minute = from; minute < current - SETTLE_MINUTES; minute++) this.settled.set(minute, []);
    for (const c of fresh) this.settled.get(c.minute)?.push(c);
    const kept = [...this.settled].filter(([minute]) => minute < from).flatMap(([, list]) => list);
    return [...kept, ...fresh];
  }
}
