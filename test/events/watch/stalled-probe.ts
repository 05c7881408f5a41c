// The figures in README › Configuration › watch (a measurement, not a test; run it with
// `npx tsx test/watch/stalled-probe.ts`, STREAMS=0 for the same without streams): a service
// process; three rounds of 20 WatchOutbox streams on raw HTTP/2 sessions that never read and a
// burst of 4,000 sends. Prints the service's RSS (after a full garbage collection) before the
// rounds (after the same bursts without streams), at the peak and after, and per round how each
// client saw its stream end and whether the watch_streams gauge went back to 0. A client whose
// stream is still open 10 s after the burst closes its connection, as the report that found the
// leak did.
import http2 from "node:http2";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { EmailService } from "../../../gen/email/v1/email_service_pb.js";
import { createTestDatabase } from "../../helpers/db.js";
import { startServiceProcess } from "../../helpers/service-process.js";

const STREAMS = Number(process.env.STREAMS ?? 20);
const BURST = 4_000;
const db = await createTestDatabase("stalled_probe");
const svc = await startServiceProcess({
  databaseUrl: db.url,
  env: { LOG_LEVEL: "info" },
  // SIGUSR2 runs a full garbage collection, so RSS is read without garbage not yet collected.
  nodeArgs: ["--expose-gc", "--import", "data:text/javascript,process.on('SIGUSR2',()=>globalThis.gc())"],
  config: { accounts: [{ id: 1, from: "a@example.com", file_dir: mkdtempSync(path.join(tmpdir(), "stalled-probe-")) }] },
});
const pid = svc.child.pid!;
const rssMiB = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) / 1024;
/** RSS after a full collection (and a moment for it to run). */
const settledRssMiB = async () => {
  process.kill(pid, "SIGUSR2");
  await new Promise((r) => setTimeout(r, 500));
  return rssMiB();
};
const gauge = async () => Number(/^email_outbox_watch_streams (\d+)/m.exec(await (await fetch(`${svc.url}/metrics`)).text())![1]);
/** Polls `check` until it holds or `ms` pass; returns whether it held. */
const within = async (ms: number, check: () => Promise<boolean>) => {
  for (const deadline = Date.now() + ms; Date.now() < deadline; await new Promise((r) => setTimeout(r, 50))) if (await check()) return true;
  return check();
};
const mib = (n: number) => +n.toFixed(1);

const client = createClient(EmailService, createGrpcTransport({ baseUrl: svc.url }));
async function burst(tag: string) {
  for (let sent = 0; sent < BURST; sent += 100) {
    await client.sendBatch({
      messages: Array.from({ length: 100 }, (_, i) => ({
        accountId: 1,
        to: [`${tag}${sent + i}@example.com`],
        subject: tag,
        bodyText: "b",
      })),
    });
  }
}

/** One round: STREAMS stalled streams, a burst, then whatever ended them. */
async function round(tag: string) {
  const ends: string[] = [];
  const sessions: http2.ClientHttp2Session[] = [];
  for (let i = 0; i < STREAMS; i++) {
    const session = http2.connect(svc.url);
    session.on("error", () => undefined);
    sessions.push(session);
    const s = session.request({
      ":method": "POST",
      ":path": "/email.v1.EmailService/WatchOutbox",
      "content-type": "application/grpc+proto",
      te: "trailers",
    });
    s.on("error", () => undefined);
    s.pause();
    s.end(Buffer.from([0, 0, 0, 0, 0]));
    s.once("close", () => {
      ends.push(s.rstCode === http2.constants.NGHTTP2_ENHANCE_YOUR_CALM ? "ENHANCE_YOUR_CALM" : `rst ${s.rstCode}`);
      session.destroy();
    });
  }
  if (!(await within(30_000, async () => (await gauge()) === STREAMS))) throw new Error("the streams did not open");
  await burst(tag);
  const endedByServer = await within(10_000, async () => ends.length === STREAMS);
  for (const s of sessions) s.destroy();
  const gaugeFreed = await within(10_000, async () => (await gauge()) === 0);
  return {
    endedByServer,
    ends: [...new Set(ends)].map((e) => `${ends.filter((x) => x === e).length}× ${e}`),
    gaugeFreed,
    rssMiB: mib(await settledRssMiB()),
  };
}

// The same work without streams first, so the baseline holds what sending itself keeps.
await burst("warm1");
await burst("warm2");
const before = await settledRssMiB();
let peak = before;
const sampler = setInterval(() => (peak = Math.max(peak, rssMiB())), 20);
const rounds = [];
for (let i = 0; i < 3; i++) rounds.push(await round(`r${i}-`));
clearInterval(sampler);
const after = await settledRssMiB();
console.log(
  JSON.stringify({
    streams: STREAMS,
    events: BURST,
    rounds,
    rssMiB: { before: mib(before), peak: mib(peak), after: mib(after), growth: `${(((after - before) / before) * 100).toFixed(1)} %` },
  }),
);
svc.kill("SIGTERM");
await svc.exited;
await db.drop();
