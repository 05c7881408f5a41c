// Rows 1, 2 and 7: N messages through the service (Send at 32 in flight, and SendBatch), the
// durable BullMQ peer (Redis with AOF, fsync every second: add() and addBulk()), the same peer on a
// Redis without persistence, and the ceiling, one of each per round, every contender a fresh
// process (the service on a fresh database), so each run's peak RSS is its own.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { runCeiling, startOurs, startPeer, type Contender } from "./contenders.js";
import { measureBatches, measureDelivery, type Delivery } from "./delivery.js";
import { progress, ticker } from "./progress.js";
import type { PhaseContext, PhaseResult } from "./phase.js";
import { startAofRedis, type AofRedis } from "./redis-aof.js";
import type { Line } from "./report.js";
import type { Settings } from "./settings.js";
import type { BenchSink } from "./sink.js";
import { findProcess, processStats } from "./proc.js";
import { figure, ratio } from "./stats.js";

interface Run {
  delivery: Delivery;
  peakMiB: number;
  /** CPU per message of the measured run: the sending process, its store's server, this process. */
  cpu: { sender: number; store: number; bench: number };
}

/** CPU time (ms) of this process: the client or producer, and the sink. */
const benchCpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** One contender's measured run, one message at a time (`batch` unset) or in calls of `batch`. */
async function timedRun(
  label: string,
  sink: BenchSink,
  c: Contender,
  storePid: number | undefined,
  s: Settings,
  batched = false,
): Promise<Run> {
  const measure = () =>
    batched
      ? measureBatches(sink, c.submitBatch, s.messages, s.batchSize, s.batchInFlight, s.deliveryTimeoutMs)
      : measureDelivery(sink, c.submit, s.messages, { inFlight: s.inFlight }, s.deliveryTimeoutMs);
  await measureDelivery(sink, c.submit, s.warmUp, { inFlight: s.inFlight }, s.deliveryTimeoutMs);
  const stop = ticker(label, () => `${sink.count}/${s.messages} accepted`);
  const storeCpu = () => (storePid === undefined ? NaN : processStats(storePid).cpuMs);
  try {
    const before = { sender: c.stats().cpuMs, store: storeCpu(), bench: benchCpuMs() };
    const delivery = await measure();
    const after = c.stats();
    const perMessage = (now: number, then: number) => (now - then) / s.messages;
    const cpu = {
      sender: perMessage(after.cpuMs, before.sender),
      store: perMessage(storeCpu(), before.store),
      bench: perMessage(benchCpuMs(), before.bench),
    };
    progress(
      `${label}: ${delivery.perSecond.toFixed(0)} msg/s, p50 ${delivery.p50Ms.toFixed(0)} ms, p99 ${delivery.p99Ms.toFixed(0)} ms; ` +
        `CPU/message ${cpu.sender.toFixed(2)} ms sender, ${cpu.store.toFixed(2)} ms store, ${cpu.bench.toFixed(2)} ms client + sink`,
    );
    return { delivery, peakMiB: after.peakMiB, cpu };
  } finally {
    stop();
  }
}

/** SQL statements per message over the service's whole life (start-up, warm-up and the run). */
interface Statements {
  total: number;
  commits: number;
}

export async function deliveryPhase({ sink, s, redis, slice }: PhaseContext): Promise<PhaseResult> {
  const runs = { send: [] as Run[], batch: [] as Run[], aof: [] as Run[], aofBulk: [] as Run[], peer: [] as Run[] };
  const statements: Statements[] = [];
  const ceiling: Delivery[] = [];
  const notes: string[] = [];
  const mariadb = findProcess("mariadbd") ?? findProcess("mysqld");
  const redisServer = findProcess("redis-server");
  let aof: AofRedis | undefined;
  const dir = mkdtempSync(path.join(tmpdir(), "email-outbox-bench-"));
  try {
    aof = await startAofRedis().catch((err: unknown) => {
      notes.push(`Durable peer skipped: ${(err as Error).message}.`);
      return undefined;
    });
    while (slice.another(s.reps, "Rows 1, 2, 7", notes)) {
      const round = slice.round;
      const tag = `round ${round}/${s.reps}`;
      progress(`row 1: ${tag}: starting the service on a fresh database`);
      const queryCountsFile = path.join(dir, `queries-${round}.json`);
      const service = await startOurs(sink, `e2e${round}`, { queryCountsFile });
      try {
        runs.send.push(await timedRun(`row 1 ours Send ${tag}`, sink, service, mariadb, s));
      } finally {
        await service.stop();
      }
      statements.push(statementsPerMessage(queryCountsFile, s.warmUp + s.messages));
      const batching = await startOurs(sink, `batch${round}`);
      try {
        runs.batch.push(await timedRun(`row 1 ours SendBatch ${tag}`, sink, batching, mariadb, s, true));
      } finally {
        await batching.stop();
      }
      if (aof) {
        const address = { host: aof.host, port: aof.port };
        for (const batched of [false, true]) {
          const bull = await startPeer(sink, `bench-${process.pid}-aof${batched ? "-bulk" : ""}-${round}`, address);
          try {
            (batched ? runs.aofBulk : runs.aof).push(
              await timedRun(`row 2 peer AOF ${batched ? "addBulk" : "add"} ${tag}`, sink, bull, aof.pid, s, batched),
            );
          } finally {
            await bull.stop();
          }
        }
      }
      if (redis) {
        const bull = await startPeer(sink, `bench-${process.pid}-${round}`);
        try {
          runs.peer.push(await timedRun(`row 2 peer ${tag}`, sink, bull, redisServer, s));
        } finally {
          await bull.stop();
        }
      }
      const top = await runCeiling(sink, s.messages, s.inFlight, s.warmUp, `ceiling${round}-`);
      progress(`row 2 ceiling ${tag}: ${top.perSecond.toFixed(0)} msg/s`);
      ceiling.push(top);
    }
  } finally {
    await aof?.stop();
    rmSync(dir, { recursive: true, force: true });
  }

  const rate = (list: Run[]) => figure(list.map((r) => r.delivery.perSecond));
  const cpuTotal = (list: Run[]) => figure(list.map((r) => r.cpu.sender + r.cpu.store));
  const ceilingRate = figure(ceiling.map((d) => d.perSecond));
  const service = { sender: "service process", store: "MariaDB (shared: other clients' work too)", bench: "grpc-js client + sink" };
  const lines = runLines("1", runs.send, { who: "Service", submit: "Send", ...service });
  lines.push(
    { row: "1", name: "Service: Send RPCs completed", unit: "calls/s", figure: figure(runs.send.map((r) => r.delivery.submitsPerSecond)) },
    {
      row: "1",
      name: "Service: SQL statements per message (whole life)",
      unit: "",
      figure: figure(statements.map((x) => x.total)),
      target: { op: "<=", value: 1.5 },
    },
    {
      row: "1",
      name: "Service: COMMITs per message (whole life)",
      unit: "",
      figure: figure(statements.map((x) => x.commits)),
      target: { op: "<=", value: 0.3 },
    },
    ...runLines("1", runs.batch, { who: `Service SendBatch of ${s.batchSize}`, submit: "SendBatch", ...service }),
  );
  if (aof) {
    const durable = { sender: "worker process", store: "Redis (AOF)", bench: "BullMQ producer + sink" };
    lines.push(
      ...runLines("2", runs.aof, { who: "Peer (BullMQ + nodemailer, Redis AOF everysec)", submit: "add()", ...durable }),
      ...runLines("2", runs.aofBulk, { who: `Peer AOF, addBulk of ${s.batchSize}`, submit: "addBulk()", ...durable }),
      {
        row: "2",
        name: "Service Send ÷ peer AOF add() (throughput)",
        unit: "×",
        figure: ratio(rate(runs.send), rate(runs.aof)),
        target: { op: ">=", value: 1 },
      },
      {
        row: "2",
        name: "Service SendBatch ÷ peer AOF addBulk() (throughput)",
        unit: "×",
        figure: ratio(rate(runs.batch), rate(runs.aofBulk)),
        target: { op: ">=", value: 1 },
      },
      {
        row: "2",
        name: "Service + MariaDB CPU per message ÷ peer worker + Redis AOF",
        unit: "×",
        figure: ratio(cpuTotal(runs.send), cpuTotal(runs.aof)),
        target: { op: "<=", value: 1.2 },
      },
    );
  }
  if (redis) {
    lines.push(
      ...runLines("2", runs.peer, {
        who: "Peer (BullMQ + nodemailer, Redis without persistence)",
        submit: "add()",
        sender: "worker process",
        store: "Redis",
        bench: "BullMQ producer + sink",
      }),
      {
        row: "2",
        name: "Service Send ÷ peer without persistence (throughput)",
        unit: "×",
        figure: ratio(rate(runs.send), rate(runs.peer)),
      },
    );
  } else {
    notes.push("Row 2 peer without persistence skipped: no Redis answered PING at 127.0.0.1:6379.");
  }
  lines.push(
    { row: "2", name: "Ceiling (pooled nodemailer, no queue)", unit: "msg/s", figure: ceilingRate },
    {
      row: "2",
      name: "Service Send ÷ ceiling (throughput)",
      unit: "×",
      figure: ratio(rate(runs.send), ceilingRate),
      target: { op: ">=", value: 0.6 },
    },
    { row: "7", name: "Service peak RSS during row 1 (VmHWM)", unit: "MiB", figure: figure(runs.send.map((r) => r.peakMiB)) },
  );
  if (aof) lines.push({ row: "7", name: "Peer worker peak RSS (VmHWM)", unit: "MiB", figure: figure(runs.aof.map((r) => r.peakMiB)) });
  return { lines, notes };
}

function statementsPerMessage(file: string, messages: number): Statements {
  const counts = JSON.parse(readFileSync(file, "utf8")) as Record<string, number>;
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  return { total: total / messages, commits: (counts.COMMIT ?? 0) / messages };
}

/** One contender's lines: throughput, latency, and CPU per message in each process involved. */
function runLines(row: string, runs: Run[], n: { who: string; submit: string; sender: string; store: string; bench: string }): Line[] {
  const f = (pick: (r: Run) => number) => figure(runs.map(pick));
  return [
    { row, name: `${n.who}: ${n.submit} → accepted by the sink`, unit: "msg/s", figure: f((r) => r.delivery.perSecond) },
    { row, name: `${n.who}: ${n.submit} → accepted p50`, unit: "ms", figure: f((r) => r.delivery.p50Ms) },
    { row, name: `${n.who}: ${n.submit} → accepted p99`, unit: "ms", figure: f((r) => r.delivery.p99Ms) },
    { row, name: `${n.who}: CPU per message, ${n.sender}`, unit: "ms", figure: f((r) => r.cpu.sender) },
    { row, name: `${n.who}: CPU per message, ${n.store}`, unit: "ms", figure: f((r) => r.cpu.store) },
    { row, name: `${n.who}: CPU per message, ${n.bench}`, unit: "ms", figure: f((r) => r.cpu.bench) },
  ];
}
