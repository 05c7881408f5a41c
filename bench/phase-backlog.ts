// Row 4: claim + finalize throughput with a small and a large backlog of due rows, called
// in-process (the sender's own claimDue and finalize on a pool, no SMTP), in batches like the
// sender's. Two databases hold the two backlogs; runs alternate between them, and each run's
// rows are topped up afterwards so the backlog keeps its size.
import { claimDue, finalize, type Finalization } from "../src/outbox/claims.js";
import { createPool, ensureDatabase, type Pool } from "../src/db/pool.js";
import { migrate } from "../src/db/migrate.js";
import { createTestDatabase, type TestDatabase } from "../test/helpers/db.js";
import { loadDueRows } from "./backlog-load.js";
import { nowMs } from "./mail.js";
import type { PhaseContext, PhaseResult } from "./phase.js";
import { progress } from "./progress.js";
import { figure, ratio } from "./stats.js";

const DAY = 86_400_000;

interface Backlog {
  size: number;
  db: TestDatabase;
  pool: Pool;
  /** Due time of the next row loaded: every top-up is due after the rows before it. */
  nextDue: number;
}

async function openBacklog(size: number): Promise<Backlog> {
  const db = await createTestDatabase(`bench_backlog_${size}`);
  await ensureDatabase(db.url);
  const pool = createPool(db.url, 4);
  await migrate(pool);
  const start = nowMs();
  const backlog = { size, db, pool, nextDue: Date.now() - 30 * DAY };
  await topUp(backlog, size, (n) => progress(`row 4: loading ${size.toLocaleString("en")} due rows: ${n.toLocaleString("en")}`));
  progress(`row 4: loaded ${size.toLocaleString("en")} rows in ${((nowMs() - start) / 1000).toFixed(1)} s`);
  return backlog;
}

async function topUp(b: Backlog, count: number, onChunk?: (n: number) => void): Promise<void> {
  await loadDueRows(b.pool, count, b.nextDue, onChunk);
  b.nextDue += count;
}

/** Claims and finalizes (as sent) `rows` rows, `batch` per claim; returns rows per second. */
async function claimAndFinalize(pool: Pool, rows: number, batch: number): Promise<number> {
  const start = nowMs();
  for (let done = 0; done < rows; ) {
    const now = Date.now();
    const claims = await claimDue(
      pool,
      Math.min(batch, rows - done),
      { owner: "bench", now, leaseMs: 300_000, messageIdDomain: "bench.local" },
      [1],
    );
    if (claims.length === 0) throw new Error("backlog ran dry");
    const results: Finalization[] = claims.map((c) => ({
      id: c.id,
      accountId: c.accountId,
      leaseToken: c.leaseToken,
      messageId: c.messageId,
      status: "sent",
      retries: c.retries,
      nextAttemptAt: null,
      providerMessageId: "smtp-250 bench",
      error: null,
      errorClass: null,
    }));
    await finalize(pool, results, Date.now());
    done += claims.length;
  }
  return rows / ((nowMs() - start) / 1000);
}

export async function backlogPhase({ s, slice }: PhaseContext): Promise<PhaseResult> {
  const backlogs: Backlog[] = [];
  const notes: string[] = [];
  try {
    for (const size of s.backlogSizes) backlogs.push(await openBacklog(size));
    const runs = backlogs.map(() => [] as number[]);
    while (slice.another(s.reps, "Row 4", notes)) {
      const round = slice.round;
      for (const [i, b] of backlogs.entries()) {
        const rate = await claimAndFinalize(b.pool, s.backlogClaims, s.backlogBatch);
        runs[i]!.push(rate);
        progress(`row 4 round ${round}/${s.reps}: ${b.size.toLocaleString("en")} due: ${rate.toFixed(0)} rows/s`);
        await topUp(b, s.backlogClaims);
      }
    }
    const [small, large] = runs.map(figure) as [ReturnType<typeof figure>, ReturnType<typeof figure>];
    const [sizeS, sizeL] = s.backlogSizes.map((n) => n.toLocaleString("en"));
    return {
      lines: [
        { row: "4", name: `Claim + finalize, ${sizeS} due rows (batches of ${s.backlogBatch})`, unit: "rows/s", figure: small },
        { row: "4", name: `Claim + finalize, ${sizeL} due rows`, unit: "rows/s", figure: large },
        { row: "4", name: `${sizeL} ÷ ${sizeS}`, unit: "×", figure: ratio(large, small), target: { op: ">=", value: 0.67 } },
      ],
      notes,
    };
  } finally {
    for (const b of backlogs) {
      await b.pool.end();
      await b.db.drop();
    }
  }
}
