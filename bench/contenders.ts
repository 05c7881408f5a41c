// The three ways to get mail to the sink, each started fresh in its own process: the service
// (gRPC Send), the peer (BullMQ add() + a worker with the same pooled transport), and the ceiling
// (that transport called directly, no queue).
import { BenchClient, sendRequest } from "./grpc.js";
import { deliveryFrom, type Delivery, type Submit, type SubmitBatch } from "./delivery.js";
import { benchMessage, nowMs } from "./mail.js";
import { PeerProcess, REDIS, openQueue, type RedisAddress } from "./peer.js";
import type { ProcessStats } from "./proc.js";
import { startService, type BenchService, type ServiceExtra, type ServiceProfile } from "./service.js";
import type { BenchSink } from "./sink.js";

/** Jobs a BullMQ worker runs at once: like the service's sender.max_in_flight (claimed rows). */
export const PEER_CONCURRENCY = 64;

export interface Contender {
  submit: Submit;
  /** Many messages in one call: SendBatch for the service, addBulk() for the peer. */
  submitBatch: SubmitBatch;
  /** Memory and CPU of the process that sends. */
  stats(): ProcessStats;
  stop(): Promise<void>;
}

export interface Ours extends Contender {
  service: BenchService;
  client: BenchClient;
}

export async function startOurs(sink: BenchSink, label: string, profile?: ServiceProfile, extra?: ServiceExtra): Promise<Ours> {
  const service = await startService(label, sink.port, profile, extra);
  const client = new BenchClient(service.proc.port);
  return {
    service,
    client,
    submit: async (i) => (await client.send(sendRequest(benchMessage(i)))).outbox.outbox_id,
    async submitBatch(is) {
      const { results } = await client.sendBatch(is.map((i) => sendRequest(benchMessage(i))));
      return results.map((r) => {
        if (!r.outbox) throw new Error(`SendBatch refused a message: ${r.error?.message}`);
        return r.outbox.outbox_id;
      });
    },
    stats: () => service.stats(),
    async stop() {
      client.close();
      await service.stop();
    },
  };
}

export async function startPeer(sink: BenchSink, queueName: string, redis: RedisAddress = REDIS): Promise<Contender> {
  const peer = await PeerProcess.start(sink.port);
  await peer.request({ type: "worker", queue: queueName, concurrency: PEER_CONCURRENCY, redis });
  const queue = openQueue(queueName, redis);
  let seq = 0;
  return {
    async submit(i) {
      const id = `${queueName}-${seq++}`;
      await queue.add("send", { id, i });
      return id;
    },
    async submitBatch(is) {
      const jobs = is.map((i) => ({ name: "send", data: { id: `${queueName}-${seq++}`, i } }));
      await queue.addBulk(jobs);
      return jobs.map((j) => j.data.id);
    },
    stats: () => peer.stats(),
    async stop() {
      await peer.stop();
      await queue.obliterate({ force: true });
      await queue.close();
    },
  };
}

/** The ceiling: `count` messages through the pooled transport at `inFlight`, after a warm-up. */
export async function runCeiling(sink: BenchSink, count: number, inFlight: number, warmUp: number, prefix: string): Promise<Delivery> {
  const peer = await PeerProcess.start(sink.port);
  try {
    await peer.request({ type: "direct", count: warmUp, inFlight, prefix: `${prefix}w` });
    sink.reset();
    const reply = await peer.request({ type: "direct", count, inFlight, prefix: `${prefix}m` });
    if (reply.type !== "direct-done") throw new Error("ceiling: unexpected reply");
    return deliveryFrom(sink, new Map(Object.entries(reply.starts)), nowMs());
  } finally {
    await peer.stop();
  }
}
