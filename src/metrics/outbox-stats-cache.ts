// Outbox stats for scrapes: one query pair shared by every gauge of a scrape and by scrapes
// that come close together (several Prometheis, or a dashboard), so scraping stays cheap.
import type { Logger } from "../lib/log.js";
import type { Pool } from "../db/pool.js";
import { readOutboxStats, type OutboxStats } from "../outbox/stats.js";

const TTL_MS = 2_000;
const QUERY_TIMEOUT_MS = 2_000;

export function cachedOutboxStats(pool: Pool, log: Logger): () => Promise<OutboxStats | undefined> {
  let cached: { at: number; stats: Promise<OutboxStats | undefined> } | undefined;
  return () => {
    const now = Date.now();
    if (!cached || now - cached.at >= TTL_MS) {
      const stats = readOutboxStats(pool, QUERY_TIMEOUT_MS).catch((err: unknown) => {
        // The gauges are left out of this scrape; database_up tells why.
        log.warn({ err: (err as Error).message }, "outbox stats for metrics failed");
        return undefined;
      });
      cached = { at: now, stats };
    }
    return cached.stats;
  };
}
