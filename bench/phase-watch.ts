// Row 6, watch fan-out: many WatchOutbox streams (each following the account's SENT events) on
// one service while messages are sent at a steady rate. Delay is from the event's commit time
// (its `time`, taken by the service on the database clock of this same host) to its arrival at
// the client; RSS is the service's before the streams open and after each round.
import type { ClientReadableStream } from "@grpc/grpc-js";
import { startOurs, type Ours } from "./contenders.js";
import { BenchClient, type WatchItem } from "./grpc.js";
import { paced } from "./load.js";
import { nowMs } from "./mail.js";
import type { PhaseContext, PhaseResult } from "./phase.js";
import { progress, ticker } from "./progress.js";
import { figure, percentile } from "./stats.js";

const SENT = "OUTBOX_STATUS_SENT";

/** Every stream's SENT events, with the delay of each, until `expected` per stream have come. */
class FanOut {
  delays: number[] = [];
  private counts: number[];
  private waiting?: { perStream: number; resolve: () => void };

  constructor(readonly streams: ClientReadableStream<WatchItem>[]) {
    this.counts = streams.map(() => 0);
    streams.forEach((stream, i) => {
      stream.on("data", (item: WatchItem) => {
        const time = item.event?.time;
        if (item.event?.status !== SENT || !time) return;
        this.delays.push(nowMs() - (Number(time.seconds) * 1000 + time.nanos / 1e6));
        this.counts[i]!++;
        this.check();
      });
      stream.on("error", () => undefined); // cancelled at the end
    });
  }

  get received(): number {
    return this.counts.reduce((a, b) => a + b, 0);
  }

  /** Resolves when every stream has seen `perStream` SENT events in total. */
  until(perStream: number, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`watch: ${this.received} of ${perStream * this.streams.length} events arrived`)),
        timeoutMs,
      );
      this.waiting = { perStream, resolve: () => (clearTimeout(timer), resolve()) };
      this.check();
    });
  }

  private check(): void {
    if (this.waiting && this.counts.every((c) => c >= this.waiting!.perStream)) {
      this.waiting.resolve();
      this.waiting = undefined;
    }
  }
}

export async function watchPhase({ sink, s, slice }: PhaseContext): Promise<PhaseResult> {
  const notes: string[] = [];
  progress(`row 6 watch: starting the service; ${s.watchStreams} streams`);
  const ours = await startOurs(sink, "watch");
  const p50: number[] = [];
  const p99: number[] = [];
  const rssAfter: number[] = [];
  const cpuPerEvent: number[] = [];
  const clientCpuPerEvent: number[] = [];
  let streams: ClientReadableStream<WatchItem>[] = [];
  try {
    // One message first, fully finalized, so the streams see none of its events.
    const first = await ours.submit(0);
    const deadline = Date.now() + s.deliveryTimeoutMs;
    while ((await ours.client.getOutbox(first)).outbox.status !== SENT) {
      if (Date.now() > deadline) throw new Error("watch: the first message was not sent in time");
    }
    const rssBefore = ours.stats().rssMiB;
    streams = Array.from({ length: s.watchStreams }, () => ours.client.watch({ account_id: 1, statuses: [SENT] }));
    const fan = new FanOut(streams);
    // The streams are live once each has seen a message sent after they opened.
    await ours.submit(1);
    await fan.until(1, s.deliveryTimeoutMs);
    progress(`row 6 watch: ${s.watchStreams} streams live`);
    while (slice.another(s.reps, "Row 6 watch", notes)) {
      const round = slice.round;
      fan.delays = [];
      const cpuBefore = ours.stats().cpuMs;
      const clientBefore = process.cpuUsage();
      const stop = ticker(
        `row 6 watch round ${round}/${s.reps}`,
        () => `${fan.delays.length} of ${s.watchMessages * s.watchStreams} events`,
      );
      try {
        await paced(s.watchMessages, s.watchPerSecond, async (i) => void (await ours.submit(i)));
        await fan.until(1 + round * s.watchMessages, s.deliveryTimeoutMs);
      } finally {
        stop();
      }
      p50.push(percentile(fan.delays, 50));
      p99.push(percentile(fan.delays, 99));
      const after = ours.stats();
      rssAfter.push(after.rssMiB);
      const events = s.watchMessages * s.watchStreams;
      cpuPerEvent.push(((after.cpuMs - cpuBefore) * 1000) / events);
      const client = process.cpuUsage(clientBefore);
      clientCpuPerEvent.push((client.user + client.system) / events);
      progress(`row 6 watch round ${round}/${s.reps}: commit → client p50 ${p50.at(-1)!.toFixed(0)} ms, p99 ${p99.at(-1)!.toFixed(0)} ms`);
    }
    for (const stream of streams) stream.cancel();
    streams = [];
    const idle = await holdIdleStreams(ours, s);
    const label = `${s.watchStreams.toLocaleString("en")} streams, ${s.watchPerSecond} msg/s`;
    return {
      lines: [
        { row: "6", name: `Watch fan-out (${label}): commit → client p50`, unit: "ms", figure: figure(p50) },
        { row: "6", name: "Watch fan-out: commit → client p99", unit: "ms", figure: figure(p99), target: { op: "<=", value: 100 } },
        { row: "6", name: "Watch fan-out: service CPU per event delivered to a stream", unit: "µs", figure: figure(cpuPerEvent) },
        {
          row: "6",
          name: "Watch fan-out: client CPU per event received (one grpc-js process, all streams)",
          unit: "µs",
          figure: figure(clientCpuPerEvent),
        },
        { row: "6", name: "Watch fan-out: service RSS before the streams", unit: "MiB", figure: figure([rssBefore]) },
        { row: "6", name: "Watch fan-out: service RSS with the streams, after sending", unit: "MiB", figure: figure(rssAfter) },
        {
          row: "6",
          name: "Watch fan-out: service RSS growth with the streams open",
          unit: "MiB",
          figure: figure(rssAfter.map((r) => r - rssBefore)),
          target: { op: "<=", value: 100 },
        },
        {
          row: "6",
          name: `Idle streams: ${s.idleStreams.toLocaleString("en")} held open (${s.streamsPerConnection} a connection), all live`,
          unit: "streams",
          figure: figure([idle.live]),
        },
        { row: "6", name: "Idle streams: service RSS growth while they are open", unit: "MiB", figure: figure([idle.growthMiB]) },
        {
          row: "6",
          name: "Idle streams: service memory per stream",
          unit: "KiB",
          figure: figure([(idle.growthMiB * 1024) / s.idleStreams]),
        },
      ],
      notes,
    };
  } finally {
    for (const stream of streams) stream.cancel();
    await ours.stop();
  }
}

/**
 * Opens `idleStreams` streams on connections of their own and waits until each has had its first
 * heartbeat (the stream is live); returns how many were and the service's RSS growth.
 */
async function holdIdleStreams(ours: Ours, s: PhaseContext["s"]): Promise<{ live: number; growthMiB: number }> {
  const before = ours.stats().rssMiB;
  const clients = Array.from(
    { length: Math.ceil(s.idleStreams / s.streamsPerConnection) },
    () => new BenchClient(ours.service.proc.port, true),
  );
  const streams: ClientReadableStream<WatchItem>[] = [];
  let live = 0;
  const stop = ticker("row 6 idle streams", () => `${live} of ${s.idleStreams} live`);
  try {
    const allLive = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`idle streams: ${live} of ${s.idleStreams} went live`)), s.deliveryTimeoutMs);
      for (let i = 0; i < s.idleStreams; i++) {
        const stream = clients[Math.floor(i / s.streamsPerConnection)]!.watch({ account_id: 1, statuses: [SENT] });
        stream.on("error", () => undefined);
        stream.once("data", () => {
          if (++live === s.idleStreams) {
            clearTimeout(timer);
            resolve();
          }
        });
        streams.push(stream);
      }
    });
    await allLive;
    const growthMiB = ours.stats().rssMiB - before;
    progress(`row 6 idle streams: ${live} live, service RSS +${growthMiB.toFixed(0)} MiB`);
    return { live, growthMiB };
  } finally {
    stop();
    for (const stream of streams) stream.cancel();
    for (const c of clients) c.close();
  }
}
