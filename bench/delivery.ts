// One delivery measurement: submit messages (closed loop or paced), wait until the sink has
// accepted them all, and derive throughput and submit→accepted latency from the sink's clock.
import { closedLoop, paced } from "./load.js";
import { nowMs } from "./mail.js";
import type { BenchSink } from "./sink.js";
import { percentile } from "./stats.js";

/** Submits message i; resolves with the id the sink will see in X-Outbox-Id. */
export type Submit = (i: number) => Promise<string>;

/** Submits messages is[0..]; resolves with their ids, in the same order. */
export type SubmitBatch = (is: number[]) => Promise<string[]>;

export type Shape = { inFlight: number } | { perSecond: number };

export interface Delivery {
  /** Messages accepted by the sink per second, first submit to last acceptance. */
  perSecond: number;
  /** Submit calls completed per second (the enqueue side alone). */
  submitsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
}

/** Submit start times by id, from a run the caller drove itself (the ceiling's child process). */
export function deliveryFrom(sink: BenchSink, starts: Map<string, number>, submitEnd: number): Delivery {
  let first = Infinity;
  let last = 0;
  const latencies: number[] = [];
  for (const [id, start] of starts) {
    const accepted = sink.acceptedAt.get(id);
    if (accepted === undefined) throw new Error(`sink never accepted ${id}`);
    first = Math.min(first, start);
    last = Math.max(last, accepted);
    latencies.push(accepted - start);
  }
  const n = starts.size;
  return {
    perSecond: n / ((last - first) / 1000),
    submitsPerSecond: n / ((submitEnd - first) / 1000),
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
  };
}

/** Submits `count` messages in the given shape; resolves with each id's submit start time. */
async function submitAll(submit: Submit, count: number, shape: Shape): Promise<Map<string, number>> {
  const starts = new Map<string, number>();
  const one = async (i: number) => {
    const start = nowMs();
    starts.set(await submit(i), start);
  };
  if ("inFlight" in shape) await closedLoop(count, shape.inFlight, one);
  else await paced(count, shape.perSecond, one);
  return starts;
}

export async function measureDelivery(sink: BenchSink, submit: Submit, count: number, shape: Shape, timeoutMs: number): Promise<Delivery> {
  return (await measureTogether(sink, [submit], count, shape, timeoutMs))[0]!;
}

/**
 * Several contenders submitting at the same time, each `count` messages in `shape`, into one
 * sink: at a low rate they barely disturb each other, and they share whatever the machine is
 * doing meanwhile.
 */
export async function measureTogether(
  sink: BenchSink,
  submits: Submit[],
  count: number,
  shape: Shape,
  timeoutMs: number,
): Promise<Delivery[]> {
  sink.reset();
  const runs = await Promise.all(submits.map(async (submit) => ({ starts: await submitAll(submit, count, shape), end: nowMs() })));
  await sink.waitFor(
    runs.flatMap((r) => [...r.starts.keys()]),
    timeoutMs,
  );
  return runs.map((r) => deliveryFrom(sink, r.starts, r.end));
}

/**
 * `count` messages in calls of `batchSize`, `inFlight` calls at a time; each message's latency
 * starts when its call starts.
 */
export async function measureBatches(
  sink: BenchSink,
  submit: SubmitBatch,
  count: number,
  batchSize: number,
  inFlight: number,
  timeoutMs: number,
): Promise<Delivery> {
  sink.reset();
  const starts = new Map<string, number>();
  const calls = Math.ceil(count / batchSize);
  await closedLoop(calls, inFlight, async (c) => {
    const is = Array.from({ length: Math.min(batchSize, count - c * batchSize) }, (_, k) => c * batchSize + k);
    const start = nowMs();
    for (const id of await submit(is)) starts.set(id, start);
  });
  const end = nowMs();
  await sink.waitFor([...starts.keys()], timeoutMs);
  return deliveryFrom(sink, starts, end);
}
