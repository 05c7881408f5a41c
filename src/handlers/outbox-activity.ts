// GetOutboxActivity: sent and failed attempts per minute over the last hour. One grouped read of
// the events covers every account and is shared by all callers for a few seconds (a dashboard
// polls it), then each answer keeps only the accounts its caller may read.
import type { ActivityMinute } from "../../gen/email/v1/email_service_pb.js";
import type { Clock } from "../clock.js";
import { readOutcomeCounts, type OutcomeCount } from "../outbox/activity.js";
import type { Pool } from "../outbox/db.js";
import { time } from "./mapping.js";

const MINUTES = 60;
const MINUTE_MS = 60_000;
/** The proto promises answers at most 5 s old. */
const TTL_MS = 5_000;
const QUERY_TIMEOUT_MS = 5_000;

type Minute = Pick<ActivityMinute, "startTime" | "sent" | "failed">;

export class OutboxActivity {
  private cached?: { at: number; counts: Promise<OutcomeCount[]> };

  constructor(private readonly pool: Pool, private readonly clock: Clock) {}

  /** `accountIds` undefined: every account. */
  async minutes(accountIds: readonly number[] | undefined): Promise<Minute[]> {
    const now = this.clock.now();
    const first = Math.floor(now / MINUTE_MS) - (MINUTES - 1);
    const counts = await this.counts(now, first);
    const minutes = Array.from({ length: MINUTES }, (_, i) => ({ startTime: time((first + i) * MINUTE_MS), sent: 0, failed: 0 }));
    const only = accountIds && new Set(accountIds);
    for (const c of counts) {
      const minute = minutes[c.minute - first];
      if (!minute || (only && !only.has(c.accountId))) continue;
      minute[c.outcome] += c.count;
    }
    return minutes;
  }

  private counts(now: number, firstMinute: number): Promise<OutcomeCount[]> {
    if (this.cached && now - this.cached.at < TTL_MS) return this.cached.counts;
    const counts = readOutcomeCounts(this.pool, firstMinute * MINUTE_MS, QUERY_TIMEOUT_MS);
    const entry = { at: now, counts };
    this.cached = entry;
    // A failed read is not kept: the next call asks again.
    counts.catch(() => {
      if (this.cached === entry) this.cached = undefined;
    });
    return counts;
  }
}
