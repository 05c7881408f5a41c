// The contenders that are not the service, in a child process of their own as the service is:
// a BullMQ worker sending each job with nodemailer's sendMail over a pooled transport with the
// service's connection settings (the peer), or that transport called straight from a loop with
// no queue (the ceiling). The parent drives it over IPC (see peer.ts).
import { Worker } from "bullmq";
import nodemailer from "nodemailer";
import { smtpPoolOptions } from "../src/delivery/transports.js";
import { closedLoop } from "./load.js";
import { BENCH_FROM, benchAccount, benchMessage, nowMs } from "./mail.js";
import type { PeerCommand, PeerReply } from "./peer.js";

const account = benchAccount(Number(process.env.BENCH_SINK_PORT));
// What a BullMQ user writes: sendMail on a pooled transport, with the service's connection settings.
const transport = nodemailer.createTransport({ ...smtpPoolOptions(account.relays[0]!.smtp!), logger: false, debug: false });
let worker: Worker | undefined;

/** Message i with the id the sink records, sent through the pooled transport. */
async function deliver(id: string, i: number): Promise<string> {
  const { to, subject, text } = benchMessage(i);
  const info = await transport.sendMail({
    from: BENCH_FROM,
    to,
    subject,
    text,
    messageId: `<${id}@bench.local>`,
    headers: { "X-Outbox-Id": id },
  });
  return String(info.response);
}

function reply(msg: PeerReply): void {
  process.send!(msg);
}

process.on("message", (cmd: PeerCommand) => {
  void handle(cmd).catch((err: unknown) => reply({ type: "error", message: (err as Error).message }));
});

async function handle(cmd: PeerCommand): Promise<void> {
  switch (cmd.type) {
    case "worker":
      worker = new Worker<{ id: string; i: number }>(cmd.queue, async (job) => void (await deliver(job.data.id, job.data.i)), {
        connection: { host: cmd.redis.host, port: cmd.redis.port, maxRetriesPerRequest: null },
        concurrency: cmd.concurrency,
      });
      await worker.waitUntilReady();
      return reply({ type: "ok" });
    case "direct": {
      const starts: Record<string, number> = {};
      await closedLoop(cmd.count, cmd.inFlight, async (i) => {
        const id = `${cmd.prefix}${i}`;
        starts[id] = nowMs();
        await deliver(id, i);
      });
      return reply({ type: "direct-done", starts });
    }
    case "exit":
      await worker?.close();
      transport.close();
      reply({ type: "ok" });
      process.disconnect();
  }
}

reply({ type: "ok" });
