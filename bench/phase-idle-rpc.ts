// Rows 3 and 5 on one service instance (and one durable peer worker, Redis with AOF): the service
// and the peer each submitting at the same fixed low rate, side by side, with their submit →
// accepted latency;
// then the rate of Send against a trivial RPC (health Check) on the same server and client.
import { startOurs, startPeer, type Contender, type Ours } from "./contenders.js";
import { measureDelivery, measureTogether, type Delivery } from "./delivery.js";
import { sendRequest } from "./grpc.js";
import { closedLoop } from "./load.js";
import { benchMessage, nowMs } from "./mail.js";
import type { PhaseContext, PhaseResult } from "./phase.js";
import { progress } from "./progress.js";
import { startAofRedis, type AofRedis } from "./redis-aof.js";
import type { Line } from "./report.js";
import { figure, ratio } from "./stats.js";

/** Calls per second of `calls` calls at `inFlight`, and the service's CPU per call (ms). */
async function callRate(
  ours: Ours,
  calls: number,
  inFlight: number,
  call: (i: number) => Promise<unknown>,
): Promise<{ rate: number; cpuMs: number }> {
  const start = nowMs();
  const cpu = ours.stats().cpuMs;
  await closedLoop(calls, inFlight, async (i) => void (await call(i)));
  return { rate: calls / ((nowMs() - start) / 1000), cpuMs: (ours.stats().cpuMs - cpu) / calls };
}

const ms = (d: Delivery) => `p50 ${d.p50Ms.toFixed(1)} ms, p99 ${d.p99Ms.toFixed(1)} ms`;

export async function idleAndRpcPhase({ sink, s, slice }: PhaseContext): Promise<PhaseResult> {
  const notes: string[] = [];
  progress("rows 3, 5: starting the service on a fresh database and a BullMQ worker on a Redis with AOF");
  const ours = await startOurs(sink, "idle");
  let peer: Contender | undefined;
  let aof: AofRedis | undefined;
  const oursIdle: Delivery[] = [];
  const peerIdle: Delivery[] = [];
  const sends: { rate: number; cpuMs: number }[] = [];
  const checks: { rate: number; cpuMs: number }[] = [];
  try {
    aof = await startAofRedis().catch((err: unknown) => {
      notes.push(`Row 3 peer skipped: ${(err as Error).message}.`);
      return undefined;
    });
    peer = aof ? await startPeer(sink, `bench-${process.pid}-idle`, { host: aof.host, port: aof.port }) : undefined;
    const contenders = peer ? [ours, peer] : [ours];
    for (const c of contenders) await measureDelivery(sink, c.submit, s.warmUp, { inFlight: s.inFlight }, s.deliveryTimeoutMs);
    // Row 5's Sends are scheduled a day ahead: the sender stays idle and only the RPC is measured.
    const tomorrow = { seconds: String(Math.floor(Date.now() / 1000) + 86_400), nanos: 0 };
    while (slice.another(s.reps, "Rows 3, 5", notes)) {
      const tag = `round ${slice.round}/${s.reps}`;
      const [o, p] = await measureTogether(
        sink,
        contenders.map((c) => c.submit),
        s.idleMessages,
        { perSecond: s.idlePerSecond },
        s.deliveryTimeoutMs,
      );
      oursIdle.push(o!);
      if (p) peerIdle.push(p);
      progress(`row 3 ${tag}: service ${ms(o!)}${p ? `; peer ${ms(p)}` : ""}`);
      sends.push(
        await callRate(ours, s.rpcCalls, s.inFlight, (i) => ours.client.send(sendRequest(benchMessage(i), { send_at: tomorrow }))),
      );
      checks.push(await callRate(ours, s.rpcCalls, s.inFlight, () => ours.client.check()));
      progress(`row 5 ${tag}: Send ${sends.at(-1)!.rate.toFixed(0)}/s, Check ${checks.at(-1)!.rate.toFixed(0)}/s`);
    }
  } finally {
    await peer?.stop();
    await aof?.stop();
    await ours.stop();
  }
  const oursP50 = figure(oursIdle.map((d) => d.p50Ms));
  const rate = `${s.idlePerSecond}/s`;
  const lines: Line[] = [
    { row: "3", name: `Service idle (${rate}): Send → accepted p50`, unit: "ms", figure: oursP50 },
    { row: "3", name: `Service idle (${rate}): Send → accepted p99`, unit: "ms", figure: figure(oursIdle.map((d) => d.p99Ms)) },
  ];
  if (peer) {
    const peerP50 = figure(peerIdle.map((d) => d.p50Ms));
    lines.push(
      { row: "3", name: `Peer AOF idle (${rate}, at the same time): add() → accepted p50`, unit: "ms", figure: peerP50 },
      { row: "3", name: `Peer AOF idle (${rate}): add() → accepted p99`, unit: "ms", figure: figure(peerIdle.map((d) => d.p99Ms)) },
      { row: "3", name: "Service idle p50 ÷ peer idle p50", unit: "×", figure: ratio(oursP50, peerP50), target: { op: "<=", value: 1.5 } },
    );
  }
  const sendFig = figure(sends.map((c) => c.rate));
  const checkFig = figure(checks.map((c) => c.rate));
  lines.push(
    { row: "5", name: "Send RPC (enqueue only, scheduled a day ahead)", unit: "calls/s", figure: sendFig },
    { row: "5", name: "Health Check RPC (same server, same client)", unit: "calls/s", figure: checkFig },
    { row: "5", name: "Send ÷ Check", unit: "×", figure: ratio(sendFig, checkFig) },
    { row: "5", name: "Service CPU per Send (enqueue only)", unit: "ms", figure: figure(sends.map((c) => c.cpuMs)) },
    { row: "5", name: "Service CPU per Check", unit: "ms", figure: figure(checks.map((c) => c.cpuMs)) },
  );
  return { lines, notes };
}
