// Row outbox_request (`npm run bench -- --only outbox_request`): an application commits requests to
// the outbox_request table with enqueueInTransaction on its own mysql2 connections (one request a
// transaction), and the service takes them. Measured, from the moment the application's COMMIT
// returned to the moment the row's first event reached a WatchOutbox stream (an upper bound on
// commit → outbox row): at idle, one request at a time, each after a pause longer than the
// intake's busy window, so it is found by the idle poll; at a steady rate; and the rate of
// requests → rows (and → accepted by the sink) with many writers. Then what idling costs: the
// service's CPU with nothing to do, and the time of one pending-index read.
import { setTimeout as sleep } from "node:timers/promises";
import { randomInt } from "node:crypto";
import type { ClientReadableStream } from "@grpc/grpc-js";
import mysql from "mysql2/promise";
import { enqueueInTransaction } from "../src/index.js";
import { INTAKE_LIMITS } from "../src/api/outbox-request/intake.js";
import { PENDING_REQUEST_SQL } from "../src/outbox/requests.js";
import { startOurs } from "./contenders.js";
import type { WatchItem } from "./grpc.js";
import { closedLoop, paced } from "./load.js";
import { benchMessage, nowMs } from "./mail.js";
import type { PhaseContext, PhaseResult } from "./phase.js";
import { progress } from "./progress.js";
import type { Line } from "./report.js";
import { figure, percentile } from "./stats.js";

const ROW = "outbox_request";
/** Pending-index reads timed for the cost of one. */
const READS = 2_000;
/** How long the idle service is watched for its CPU. */
const IDLE_CPU_MS = 10_000;

/** When each request's row showed up, by the request's bench number (its metadata "i"). */
class Rows {
  readonly at = new Map<number, { ms: number; outboxId: string }>();
  private waiters = new Set<{ missing: Set<number>; resolve: () => void }>();

  constructor(stream: ClientReadableStream<WatchItem>) {
    stream.on("data", (item: WatchItem & { event?: { metadata?: Record<string, string> } }) => {
      const i = Number(item.event?.metadata?.i ?? NaN);
      if (Number.isNaN(i) || this.at.has(i)) return;
      this.at.set(i, { ms: nowMs(), outboxId: item.event!.outbox_id });
      for (const w of this.waiters) {
        w.missing.delete(i);
        if (w.missing.size === 0) w.resolve();
      }
    });
    stream.on("error", () => undefined); // cancelled at the end
  }

  /** Resolves once every number of `is` has its row. */
  all(is: number[], timeoutMs: number): Promise<void> {
    const missing = new Set(is.filter((i) => !this.at.has(i)));
    if (missing.size === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = {
        missing,
        resolve: () => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`${ROW}: ${missing.size} rows never appeared`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }
}

export async function outboxRequestPhase({ sink, s, slice }: PhaseContext): Promise<PhaseResult> {
  const notes: string[] = [];
  progress(`${ROW}: starting the service on a fresh database`);
  const ours = await startOurs(sink, "outbox_request");
  const app = mysql.createPool({ uri: ours.service.db.url, connectionLimit: s.inFlight });
  const stream = ours.client.watch({ account_id: 1 });
  const rows = new Rows(stream);
  let next = 0;
  /** Commits request i in a transaction of its own; returns when the COMMIT returned. */
  const commit = async (i: number): Promise<number> => {
    const conn = await app.getConnection();
    try {
      const m = benchMessage(i);
      await conn.beginTransaction();
      await enqueueInTransaction(conn, { accountId: 1, to: [m.to], subject: m.subject, bodyText: m.text, metadata: { i: String(i) } });
      await conn.commit();
      return nowMs();
    } finally {
      conn.release();
    }
  };
  const latencies = async (is: number[], committedAt: Map<number, number>) => {
    await rows.all(is, s.deliveryTimeoutMs);
    return is.map((i) => rows.at.get(i)!.ms - committedAt.get(i)!);
  };
  const idle = { p50: [] as number[], p99: [] as number[] };
  const steady = { p50: [] as number[], p99: [] as number[] };
  const intoRows: number[] = [];
  const intoSink: number[] = [];
  try {
    // The stream is live once a first request's row reached it.
    const warm = next++;
    await commit(warm);
    await rows.all([warm], s.deliveryTimeoutMs);
    while (slice.another(s.reps, `Row ${ROW}`, notes)) {
      const tag = `${ROW} round ${slice.round}/${s.reps}`;
      // Idle: each request after a pause past the busy window, so the idle poll finds it.
      const idleAt = new Map<number, number>();
      for (let k = 0; k < s.requestIdleSamples; k++) {
        await sleep(INTAKE_LIMITS.busyForMs + randomInt(100, 400));
        const i = next++;
        idleAt.set(i, await commit(i));
        await rows.all([i], s.deliveryTimeoutMs);
      }
      const idleMs = await latencies([...idleAt.keys()], idleAt);
      idle.p50.push(percentile(idleMs, 50));
      idle.p99.push(percentile(idleMs, 99));
      // Steady: row 3's rate.
      const steadyAt = new Map<number, number>();
      const base = next;
      next += s.idleMessages;
      await paced(s.idleMessages, s.idlePerSecond, async (k) => void steadyAt.set(base + k, await commit(base + k)));
      const steadyMs = await latencies([...steadyAt.keys()], steadyAt);
      steady.p50.push(percentile(steadyMs, 50));
      steady.p99.push(percentile(steadyMs, 99));
      // Throughput: s.inFlight writers in a closed loop.
      sink.reset();
      const from = next;
      next += s.messages;
      const start = nowMs();
      await closedLoop(s.messages, s.inFlight, async (k) => void (await commit(from + k)));
      const is = Array.from({ length: s.messages }, (_, k) => from + k);
      await rows.all(is, s.deliveryTimeoutMs);
      const lastRow = Math.max(...is.map((i) => rows.at.get(i)!.ms));
      intoRows.push(s.messages / ((lastRow - start) / 1000));
      await sink.waitFor(
        is.map((i) => rows.at.get(i)!.outboxId),
        s.deliveryTimeoutMs,
      );
      const lastSent = Math.max(...is.map((i) => sink.acceptedAt.get(rows.at.get(i)!.outboxId)!));
      intoSink.push(s.messages / ((lastSent - start) / 1000));
      progress(
        `${tag}: idle p50 ${idle.p50.at(-1)!.toFixed(1)} ms, p99 ${idle.p99.at(-1)!.toFixed(1)} ms; ` +
          `${s.idlePerSecond}/s p50 ${steady.p50.at(-1)!.toFixed(1)} ms; ${intoRows.at(-1)!.toFixed(0)} requests/s into rows, ${intoSink.at(-1)!.toFixed(0)} msg/s to the sink`,
      );
    }
    const cpuBefore = ours.stats().cpuMs;
    await sleep(IDLE_CPU_MS);
    const idleCpu = (ours.stats().cpuMs - cpuBefore) / (IDLE_CPU_MS / 1000);
    const read = await timeReads(app);
    progress(
      `${ROW}: service CPU at idle ${idleCpu.toFixed(1)} ms/s; one pending-index read ${read.us.toFixed(0)} µs, ` +
        `${read.cpuUs.toFixed(0)} µs of client CPU, ${read.handlerReads.toFixed(1)} handler reads`,
    );
    return { lines: lines(s, idle, steady, intoRows, intoSink, idleCpu, read), notes };
  } finally {
    stream.cancel();
    await app.end();
    await ours.stop();
  }
}

interface ReadCost {
  /** Wall time of one read, round trip included, in µs. */
  us: number;
  /** The client's CPU per read (what the service spends on its own reads), in µs. */
  cpuUs: number;
  /** Index and row reads the server did per read (its Handler_read_* counters). */
  handlerReads: number;
}

/** What one pending-index read (the read an idle instance repeats) costs, over READS reads on an empty queue. */
export async function timeReads(app: mysql.Pool): Promise<ReadCost> {
  const conn = await app.getConnection();
  const handlerReads = async () => {
    const [rows] = await conn.query("SHOW SESSION STATUS LIKE 'Handler_read%'");
    return (rows as { Value: string }[]).reduce((sum, r) => sum + Number(r.Value), 0);
  };
  try {
    for (let k = 0; k < 100; k++) await conn.query(PENDING_REQUEST_SQL);
    // Reading the counters reads rows too: what one reading adds is taken off.
    const first = await handlerReads();
    const reads = await handlerReads();
    const overhead = reads - first;
    const cpu = process.cpuUsage();
    const start = nowMs();
    for (let k = 0; k < READS; k++) await conn.query(PENDING_REQUEST_SQL);
    const us = ((nowMs() - start) * 1000) / READS;
    const used = process.cpuUsage(cpu);
    return { us, cpuUs: (used.user + used.system) / READS, handlerReads: ((await handlerReads()) - reads - overhead) / READS };
  } finally {
    conn.release();
  }
}

function lines(
  s: PhaseContext["s"],
  idle: { p50: number[]; p99: number[] },
  steady: { p50: number[]; p99: number[] },
  intoRows: number[],
  intoSink: number[],
  idleCpu: number,
  read: ReadCost,
): Line[] {
  const perSecond = 1000 / INTAKE_LIMITS.idleMs;
  return [
    {
      row: ROW,
      name: "Idle (one at a time): commit → outbox row p50",
      unit: "ms",
      figure: figure(idle.p50),
      target: { op: "<=", value: 100 },
    },
    { row: ROW, name: "Idle (one at a time): commit → outbox row p99", unit: "ms", figure: figure(idle.p99) },
    { row: ROW, name: `Steady (${s.idlePerSecond}/s): commit → outbox row p50`, unit: "ms", figure: figure(steady.p50) },
    { row: ROW, name: `Steady (${s.idlePerSecond}/s): commit → outbox row p99`, unit: "ms", figure: figure(steady.p99) },
    { row: ROW, name: `${s.inFlight} writers, a request a transaction: commit → outbox row`, unit: "msg/s", figure: figure(intoRows) },
    {
      row: ROW,
      name: `${s.inFlight} writers, a request a transaction: commit → accepted by the sink`,
      unit: "msg/s",
      figure: figure(intoSink),
    },
    {
      row: ROW,
      name: `Service CPU at idle (every poller; the intake reads every ${INTAKE_LIMITS.idleMs} ms)`,
      unit: "ms/s",
      figure: figure([idleCpu]),
    },
    { row: ROW, name: "One idle read of the pending index: round trip from a client", unit: "µs", figure: figure([read.us]) },
    { row: ROW, name: "One idle read: the reader's CPU", unit: "µs", figure: figure([read.cpuUs]) },
    {
      row: ROW,
      name: "One idle read: the server's index and row reads (Handler_read_*)",
      unit: "reads",
      figure: figure([read.handlerReads]),
    },
    {
      row: ROW,
      name: `Idle reads: the reader's CPU at ${perSecond} a second, per instance`,
      unit: "ms/s",
      figure: figure([(read.cpuUs * perSecond) / 1000]),
    },
  ];
}
