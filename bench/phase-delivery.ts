// Rows 1, 2 and 7: N messages at 32 in flight through the service, the BullMQ peer and the
// ceiling, one of each per round, every contender a fresh process (the service on a fresh
// database), so each run's peak RSS is its own.
import { runCeiling, startOurs, startPeer, type Contender } from "./contenders.js";
import { measureDelivery, type Delivery } from "./delivery.js";
import { progress, ticker } from "./progress.js";
import type { PhaseContext, PhaseResult } from "./phase.js";
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

async function timedRun(label: string, sink: BenchSink, c: Contender, storePid: number | undefined, s: Settings): Promise<Run> {
  await measureDelivery(sink, c.submit, s.warmUp, { inFlight: s.inFlight }, s.deliveryTimeoutMs);
  const stop = ticker(label, () => `${sink.count}/${s.messages} accepted`);
  const storeCpu = () => (storePid === undefined ? NaN : processStats(storePid).cpuMs);
  try {
    const before = { sender: c.stats().cpuMs, store: storeCpu(), bench: benchCpuMs() };
    const delivery = await measureDelivery(sink, c.submit, s.messages, { inFlight: s.inFlight }, s.deliveryTimeoutMs);
    const after = c.stats();
    const perMessage = (now: number, then: number) => (now - then) / s.messages;
    const cpu = { sender: perMessage(after.cpuMs, before.sender), store: perMessage(storeCpu(), before.store), bench: perMessage(benchCpuMs(), before.bench) };
    progress(`${label}: ${delivery.perSecond.toFixed(0)} msg/s, p50 ${delivery.p50Ms.toFixed(0)} ms, p99 ${delivery.p99Ms.toFixed(0)} ms; ` +
      `CPU/message ${cpu.sender.toFixed(2)} ms sender, ${cpu.store.toFixed(2)} ms store, ${cpu.bench.toFixed(2)} ms client + sink`);
    return { delivery, peakMiB: after.peakMiB, cpu };
  } finally {
    stop();
  }
}

export async function deliveryPhase({ sink, s, redis, slice }: PhaseContext): Promise<PhaseResult> {
  const ours: Run[] = [];
  const peer: Run[] = [];
  const ceiling: Delivery[] = [];
  const notes: string[] = [];
  const mariadb = findProcess("mariadbd") ?? findProcess("mysqld");
  const redisServer = findProcess("redis-server");
  while (slice.another(s.reps, "Rows 1, 2, 7", notes)) {
    const round = slice.round;
    const tag = `round ${round}/${s.reps}`;
    progress(`row 1: ${tag}: starting the service on a fresh database`);
    const service = await startOurs(sink, `e2e${round}`);
    try {
      ours.push(await timedRun(`row 1 ours ${tag}`, sink, service, mariadb, s));
    } finally {
      await service.stop();
    }
    if (redis) {
      const bull = await startPeer(sink, `bench-${process.pid}-${round}`);
      try {
        peer.push(await timedRun(`row 2 peer ${tag}`, sink, bull, redisServer, s));
      } finally {
        await bull.stop();
      }
    }
    const top = await runCeiling(sink, s.messages, s.inFlight, s.warmUp, `ceiling${round}-`);
    progress(`row 2 ceiling ${tag}: ${top.perSecond.toFixed(0)} msg/s`);
    ceiling.push(top);
  }

  const oursRate = figure(ours.map((r) => r.delivery.perSecond));
  const ceilingRate = figure(ceiling.map((d) => d.perSecond));
  const lines = runLines("1", ours, { who: "Service", submit: "Send", sender: "service process", store: "MariaDB (shared: other clients' work too)", bench: "grpc-js client + sink" });
  lines.push({ row: "1", name: "Service: Send RPCs completed", unit: "calls/s", figure: figure(ours.map((r) => r.delivery.submitsPerSecond)) });
  if (redis) {
    const peerRate = figure(peer.map((r) => r.delivery.perSecond));
    lines.push(
      ...runLines("2", peer, { who: "Peer (BullMQ + nodemailer)", submit: "add()", sender: "worker process", store: "Redis", bench: "BullMQ producer + sink" }),
      { row: "2", name: "Service ÷ peer (throughput)", unit: "×", figure: ratio(oursRate, peerRate), target: { op: ">=", value: 1 } },
    );
  } else {
    notes.push("Row 2 peer skipped: no Redis answered PING at 127.0.0.1:6379.");
  }
  lines.push(
    { row: "2", name: "Ceiling (pooled nodemailer, no queue)", unit: "msg/s", figure: ceilingRate },
    { row: "2", name: "Service ÷ ceiling (throughput)", unit: "×", figure: ratio(oursRate, ceilingRate), target: { op: ">=", value: 0.7 } },
    { row: "7", name: "Service peak RSS during row 1 (VmHWM)", unit: "MiB", figure: figure(ours.map((r) => r.peakMiB)) },
  );
  if (redis) lines.push({ row: "7", name: "Peer worker peak RSS (VmHWM)", unit: "MiB", figure: figure(peer.map((r) => r.peakMiB)) });
  return { lines, notes };
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
