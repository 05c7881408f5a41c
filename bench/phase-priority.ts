// Row 9, priority: an account limited to `priorityRate` msgs/s drains a backlog of
// `priorityBacklog` BULK messages while TRANSACTIONAL ones are sent at a steady low rate; their
// submit → accepted p50/p99 is the figure. The baseline, in the same run: the same backlog sent
// as TRANSACTIONAL too (arrival order), where each new message waits behind what is left of it.
import { startOurs, type Ours } from "./contenders.js";
import { measureDelivery, type Delivery } from "./delivery.js";
import { sendRequest } from "./grpc.js";
import { closedLoop } from "./load.js";
import { benchMessage } from "./mail.js";
import type { PhaseContext, PhaseResult } from "./phase.js";
import { progress } from "./progress.js";
import type { Settings } from "./settings.js";
import { figure, ratio } from "./stats.js";

const BATCH = 500;

/**
 * Commits the backlog with SendBatch, measures transactional Sends while it drains, then waits
 * until the backlog is gone (the last row of each batch SENT), so the next run starts clean.
 */
async function duringBacklog(ours: Ours, s: Settings, sink: PhaseContext["sink"], priority: string, first: number): Promise<Delivery> {
  const lastOfBatch: string[] = [];
  await closedLoop(Math.ceil(s.priorityBacklog / BATCH), 4, async (c) => {
    const is = Array.from({ length: Math.min(BATCH, s.priorityBacklog - c * BATCH) }, (_, k) => first + c * BATCH + k);
    const { results } = await ours.client.sendBatch(is.map((i) => sendRequest(benchMessage(i), { priority })));
    lastOfBatch.push(results.at(-1)!.outbox!.outbox_id);
  });
  let next = first + s.priorityBacklog;
  const delivery = await measureDelivery(
    sink,
    async () => (await ours.client.send(sendRequest(benchMessage(next++)))).outbox.outbox_id,
    s.priorityMessages,
    { perSecond: s.priorityPerSecond },
    s.deliveryTimeoutMs,
  );
  const deadline = Date.now() + s.deliveryTimeoutMs;
  for (const id of lastOfBatch) {
    while ((await ours.client.getOutbox(id)).outbox.status !== "OUTBOX_STATUS_SENT") {
      if (Date.now() > deadline) throw new Error("row 9: the backlog did not drain");
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  return delivery;
}

export async function priorityPhase({ sink, s, slice }: PhaseContext): Promise<PhaseResult> {
  const notes: string[] = [];
  const p99: number[] = [];
  const p50: number[] = [];
  const fifo: number[] = [];
  progress(`row 9 priority: starting the service, one account limited to ${s.priorityRate}/s`);
  const ours = await startOurs(sink, "priority", undefined, { account: { rate_limit: { max_per_second: s.priorityRate } } });
  let first = 0;
  try {
    while (slice.another(s.reps, "Row 9 priority", notes)) {
      const bulk = await duringBacklog(ours, s, sink, "PRIORITY_BULK", first);
      first += s.priorityBacklog + s.priorityMessages;
      const plain = await duringBacklog(ours, s, sink, "PRIORITY_TRANSACTIONAL", first);
      first += s.priorityBacklog + s.priorityMessages;
      p50.push(bulk.p50Ms);
      p99.push(bulk.p99Ms);
      fifo.push(plain.p99Ms);
      progress(
        `row 9 round ${slice.round}/${s.reps}: transactional p99 ${bulk.p99Ms.toFixed(0)} ms behind a bulk backlog, ${plain.p99Ms.toFixed(0)} ms behind the same backlog sent transactional`,
      );
    }
    return {
      lines: [
        {
          row: "9",
          name: `Priority: transactional p50 at ${s.priorityPerSecond}/s while ${s.priorityBacklog} bulk messages drain at ${s.priorityRate}/s`,
          unit: "ms",
          figure: figure(p50),
        },
        { row: "9", name: "Priority: transactional p99 (same)", unit: "ms", figure: figure(p99) },
        {
          row: "9",
          name: "Priority: baseline, p99 behind the same backlog sent TRANSACTIONAL (arrival order)",
          unit: "ms",
          figure: figure(fifo),
        },
        { row: "9", name: "Priority: transactional p99 ÷ baseline", unit: "ratio", figure: ratio(figure(p99), figure(fifo)) },
      ],
      notes,
    };
  } finally {
    await ours.stop();
  }
}
