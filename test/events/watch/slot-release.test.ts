// Every way a WatchOutbox stream ends frees its slot and its subscription, whatever the stream was
// doing then: many streams reset at once on one connection (each still reading the database for
// its start), a connection closed under its streams without a reset, grpc-js and connect-node
// calls cancelled, a client process killed. Afterwards the key opens its whole quota again.
import { spawn } from "node:child_process";
import http2 from "node:http2";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, test, vi } from "vitest";
import { Code } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { EmailService } from "../../../gen/email/v1/email_service_pb.js";
import { startTestApp, type TestApp } from "../../helpers/app.js";
import { refusal } from "../../helpers/refusal.js";
import { keyedClient, testKey } from "../../security/keys.js";

const QUOTA = 40;
const key = testKey("watcher", "*");
const ROOT = fileURLToPath(new URL("../../..", import.meta.url));
let t: TestApp;

beforeAll(async () => {
  t = await startTestApp({
    label: "watch_slots",
    background: false,
    json: {
      api_keys: [key.entry],
      accounts: [{ id: 1, from: "a@example.com", file_dir: "mail-out" }],
      server: { max_concurrent_streams: 2 * QUOTA },
      watch: { max_streams_per_key: QUOTA, poll_interval_ms: 50 },
    },
  });
});
afterAll(async () => {
  await t?.close();
});

/** Waits until this many streams hold a subscription (the watch_streams gauge) and a slot of the key. */
function streamsReach(n: number): Promise<void> {
  return vi.waitFor(
    () => {
      const subs = t.app.tailer.subscriberCount;
      const slots = t.app.watchSlots.open(key.entry.id);
      if (subs !== n || slots !== n) throw new Error(`${subs} subscriptions and ${slots} slots, want ${n}`);
    },
    { timeout: 10_000, interval: 10 },
  );
}

const EMPTY_REQUEST = Buffer.from([0, 0, 0, 0, 0]);

/** `n` WatchOutbox streams on one raw HTTP/2 session: gRPC (application/grpc+proto) or Connect (application/connect+proto). */
function rawStreams(session: http2.ClientHttp2Session, n: number, protocol: "grpc" | "connect"): http2.ClientHttp2Stream[] {
  return Array.from({ length: n }, () => {
    const s = session.request({
      ":method": "POST",
      ":path": "/email.v1.EmailService/WatchOutbox",
      "content-type": `application/${protocol}+proto`,
      te: "trailers",
      authorization: `Bearer ${key.key}`,
    });
    s.on("error", () => undefined);
    s.on("data", () => undefined);
    s.end(EMPTY_REQUEST);
    return s;
  });
}

function rawSession(): http2.ClientHttp2Session {
  const session = http2.connect(t.url);
  session.on("error", () => undefined);
  return session;
}

test.each(["grpc", "connect"] as const)("%s streams reset together on one connection as they start free every slot", async (protocol) => {
  for (let round = 0; round < 3; round++) {
    const session = rawSession();
    const streams = rawStreams(session, QUOTA, protocol);
    // Reset as soon as each has subscribed, while it still reads where its live tail starts.
    await streamsReach(QUOTA);
    for (const s of streams) s.close(http2.constants.NGHTTP2_CANCEL);
    await streamsReach(0);
    session.close();
  }
});

test.each(["grpc", "connect"] as const)("a connection closed under its %s streams, without a reset, frees them", async (protocol) => {
  const session = rawSession();
  rawStreams(session, QUOTA, protocol);
  await streamsReach(QUOTA);
  session.destroy();
  await streamsReach(0);
});

test("grpc-js calls cancelled on one channel free their slots", async () => {
  const def = protoLoader.loadSync("email/v1/email_service.proto", {
    includeDirs: [`${ROOT}/proto`],
    keepCase: true,
    defaults: true,
    oneofs: true,
  });
  const Service = (grpc.loadPackageDefinition(def).email as { v1: { EmailService: grpc.ServiceClientConstructor } }).v1.EmailService;
  const client = new Service(new URL(t.url).host, grpc.credentials.createInsecure());
  const meta = new grpc.Metadata();
  meta.set("authorization", `Bearer ${key.key}`);
  const calls = Array.from({ length: QUOTA }, () => {
    const call = (client.WatchOutbox as (r: unknown, m: grpc.Metadata) => grpc.ClientReadableStream<unknown>).call(client, {}, meta);
    call.on("data", () => undefined).on("error", () => undefined);
    return call;
  });
  await streamsReach(QUOTA);
  for (const call of calls) call.cancel();
  await streamsReach(0);
  client.close();
});

test("connect-node calls aborted on one session free their slots", async () => {
  const client = keyedClient(EmailService, t.url, key.key);
  const calls = Array.from({ length: QUOTA }, () => new AbortController());
  const ended = calls.map(async (ac) => {
    try {
      for await (const _ of client.watchOutbox({}, { signal: ac.signal }));
    } catch {
      // aborted
    }
  });
  await streamsReach(QUOTA);
  for (const ac of calls) ac.abort();
  await Promise.all(ended);
  await streamsReach(0);
});

test("a client process that exits with its streams open frees them", async () => {
  // grpc-js in a process of its own, killed with its streams open: the OS closes the connection.
  const child = spawn(
    process.execPath,
    [
      "--input-type=module",
      "-e",
      `
    import * as grpc from "@grpc/grpc-js";
    import * as protoLoader from "@grpc/proto-loader";
    const def = protoLoader.loadSync("email/v1/email_service.proto", { includeDirs: ["proto"] });
    const client = new (grpc.loadPackageDefinition(def).email.v1.EmailService)(${JSON.stringify(new URL(t.url).host)}, grpc.credentials.createInsecure());
    const meta = new grpc.Metadata();
    meta.set("authorization", ${JSON.stringify(`Bearer ${key.key}`)});
    for (let i = 0; i < ${QUOTA}; i++) client.WatchOutbox({}, meta).on("data", () => {}).on("error", () => {});
    setInterval(() => {}, 1000);
  `,
    ],
    { cwd: ROOT, stdio: "ignore" },
  );
  const exited = new Promise((resolve) => child.once("exit", resolve));
  try {
    await streamsReach(QUOTA);
  } finally {
    child.kill("SIGKILL");
  }
  await exited;
  await streamsReach(0);
});

test("after all that, the key opens its whole quota again, and no more", async () => {
  const client = keyedClient(EmailService, t.url, key.key);
  const calls = Array.from({ length: QUOTA + 1 }, () => new AbortController());
  const streams = calls.slice(0, QUOTA).map((ac) => client.watchOutbox({}, { signal: ac.signal })[Symbol.asyncIterator]());
  // Each is open: its first heartbeat arrived.
  const first = await Promise.all(streams.map((s) => s.next()));
  expect(first.every((r) => !r.done && r.value.message.case === "heartbeat")).toBe(true);
  await streamsReach(QUOTA);
  const extra = await refusal(client.watchOutbox({}, { signal: calls[QUOTA]!.signal })[Symbol.asyncIterator]().next());
  expect([extra.code, extra.reason]).toEqual([Code.ResourceExhausted, "WATCH_STREAMS_EXHAUSTED"]);
  for (const ac of calls) ac.abort();
  await streamsReach(0);
});
