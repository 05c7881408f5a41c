// Row 8, webhooks: one endpoint (a node:http server here that answers 204 at once) gets every
// event of the bench account. Events/s: every event of a closed-loop run of Sends, counted from
// the first Send to the last SENT event's arrival. Latency: Sends at a steady rate, from each
// SENT event's commit time (its `time`, the database clock of this same host) to its arrival.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { startOurs } from "./contenders.js";
import { closedLoop, paced } from "./load.js";
import { nowMs } from "./mail.js";
import type { PhaseContext, PhaseResult } from "./phase.js";
import { progress } from "./progress.js";
import { figure, percentile } from "./stats.js";

interface Arrival {
  at: number;
  type: string;
  eventTime: number;
}

class Endpoint {
  arrivals: Arrival[] = [];
  private waiting?: { sent: number; resolve: () => void };
  private sent = 0;
  readonly server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const at = nowMs();
      res.writeHead(204).end();
      const body = JSON.parse(Buffer.concat(chunks).toString()) as { type: string; data: { time: string } };
      this.arrivals.push({ at, type: body.type, eventTime: Date.parse(body.data.time) });
      if (body.type === "outbox.sent" && ++this.sent >= (this.waiting?.sent ?? Infinity)) this.waiting!.resolve();
    });
  });

  reset(): void {
    this.arrivals = [];
    this.sent = 0;
  }

  /** Resolves when `sent` SENT events arrived since the last reset. */
  until(sent: number, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`webhooks: ${this.sent} of ${sent} SENT events arrived`)), timeoutMs);
      this.waiting = { sent, resolve: () => (clearTimeout(timer), resolve()) };
      if (this.sent >= sent) this.waiting.resolve();
    });
  }
}

export async function webhookPhase({ sink, s, slice }: PhaseContext): Promise<PhaseResult> {
  const notes: string[] = [];
  const endpoint = new Endpoint();
  await new Promise<void>((resolve) => endpoint.server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(endpoint.server.address() as AddressInfo).port}/hook`;
  progress("row 8 webhooks: starting the service");
  const ours = await startOurs(sink, "webhooks", undefined, {
    account: { webhooks: [{ id: "bench", url, secret_env: "BENCH_WEBHOOK_SECRET" }] },
    env: { BENCH_WEBHOOK_SECRET: `whsec_${Buffer.alloc(32, 8).toString("base64")}` },
  });
  const rates: number[] = [];
  const p50: number[] = [];
  const p99: number[] = [];
  let next = 0;
  try {
    while (slice.another(s.reps, "Row 8 webhooks", notes)) {
      endpoint.reset();
      const start = nowMs();
      await closedLoop(s.webhookMessages, s.inFlight, async () => void (await ours.submit(next++)));
      await endpoint.until(s.webhookMessages, s.deliveryTimeoutMs);
      const last = endpoint.arrivals.filter((a) => a.type === "outbox.sent").at(-1)!.at;
      rates.push(endpoint.arrivals.length / ((last - start) / 1000));

      endpoint.reset();
      await paced(s.webhookPacedMessages, s.webhookPerSecond, async () => void (await ours.submit(next++)));
      await endpoint.until(s.webhookPacedMessages, s.deliveryTimeoutMs);
      const delays = endpoint.arrivals.filter((a) => a.type === "outbox.sent").map((a) => a.at - a.eventTime);
      p50.push(percentile(delays, 50));
      p99.push(percentile(delays, 99));
      progress(
        `row 8 webhooks round ${slice.round}/${s.reps}: ${rates.at(-1)!.toFixed(0)} events/s; commit → webhook p50 ${p50.at(-1)!.toFixed(0)} ms, p99 ${p99.at(-1)!.toFixed(0)} ms`,
      );
    }
    return {
      lines: [
        {
          row: "8",
          name: `Webhooks: events delivered to one endpoint answering at once (${s.webhookMessages} Sends, ${s.inFlight} in flight)`,
          unit: "events/s",
          figure: figure(rates),
        },
        { row: "8", name: `Webhooks (${s.webhookPerSecond} msg/s): SENT commit → webhook p50`, unit: "ms", figure: figure(p50) },
        { row: "8", name: "Webhooks: SENT commit → webhook p99", unit: "ms", figure: figure(p99) },
      ],
      notes,
    };
  } finally {
    await ours.stop();
    endpoint.server.closeAllConnections();
    await new Promise((resolve) => endpoint.server.close(resolve));
  }
}
