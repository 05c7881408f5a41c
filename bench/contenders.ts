// The three ways to get mail to the sink, each started fresh in its own process: the service
// (gRPC Send), the peer (BullMQ add() + a worker with the same pooled transport), and the ceiling
// (that transport called directly, no queue).
import { BenchClient, sendRequest } from "./grpc.js";
import { deliveryFrom, type Delivery, type Submit } from "./delivery.js";
import { benchMessage, nowMs } from "./mail.js";
import { PeerProcess, REDIS, openQueue } from "./peer.js";
import type { ProcessStats } from "./proc.js";
import { startService, type BenchService, type ServiceProfile } from "./service.js";
import type { BenchSink } from "./sink.js";

/** Jobs a BullMQ worker runs at once: like the service's sender.max_in_flight (claimed rows). */
export const PEER_CONCURRENCY = 64;

export interface Contender {
  submit: Submit;
  /** Memory and CPU of the process that sends. */
  stats(): ProcessStats;
  stop(): Promise<void>;
}

export interface Ours extends Contender {
  service: BenchService;
  client: BenchClient;
}

export async function startOurs(sink: BenchSink, label: string, profile?: ServiceProfile): Promise<Ours> {
  const service = await startService(label, sink.port, profile);
  const client = new BenchClient(service.proc.port);
  return {
    service,
    client,
    submit: async (i) => (await client.send(sendRequest(benchMessage(i)))).outbox.outbox_id,
    stats: () => service.stats(),
    async stop() {
      client.close();
      await service.stop();
    },
  };
}

export async function startPeer(sink: BenchSink, queueName: string): Promise<Contender> {
  const peer = await PeerProcess.start(sink.port);
  await peer.request({ type: "worker", queue: queueName, concurrency: PEER_CONCURRENCY, redis: REDIS });
  const queue = openQueue(queueName);
  let seq = 0;
  return {
    async submit(i) {
      const id = `${queueName}-${seq++}`;
      await queue.add("send", { id, i });
      return id;
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
