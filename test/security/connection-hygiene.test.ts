// What a connection may cost: one that sends nothing, a partial or trickled HTTP/2 preface, or a
// half request head is closed after server.first_bytes_timeout_ms; an HTTP/2 session without
// streams after server.idle_timeout_ms, whatever frames it still sends; HTTP/2 allows server.max_concurrent_streams streams; open
// WatchOutbox streams are capped per key and in total; a client that goes away logs nothing above debug.
import http2 from "node:http2";
import net from "node:net";
import { afterAll, beforeAll, expect, test } from "vitest";
import { Code } from "@connectrpc/connect";
import { EmailService } from "../../gen/email/v1/email_service_pb.js";
import { sinkAccount, startTestApp, type TestApp } from "../helpers/app.js";
import { refusal } from "../helpers/refusal.js";
import { keyedClient, testKey } from "./keys.js";

const a = testKey("a", "*");
const b = testKey("b", "*");
let t: TestApp;
let port: number;

beforeAll(async () => {
  t = await startTestApp({
    label: "conn_hygiene",
    background: false,
    json: {
      api_keys: [a.entry, b.entry],
      accounts: [sinkAccount(1, 1)],
      server: { first_bytes_timeout_ms: 300, idle_timeout_ms: 1_500, max_concurrent_streams: 100 },
      watch: { max_streams: 3, max_streams_per_key: 2, heartbeat_ms: 200 },
    },
  });
  port = t.app.port;
});
afterAll(async () => {
  await t?.close();
});

/** Connects, writes `bytes` (one every `everyMs` when given), and resolves with what was written when the server closes. */
function closedByServer(bytes: Buffer, everyMs?: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    let written = 0;
    let timer: NodeJS.Timeout | undefined;
    socket.on("connect", () => {
      if (everyMs === undefined) {
        socket.write(bytes);
        written = bytes.length;
      } else {
        timer = setInterval(() => written < bytes.length && socket.write(bytes.subarray(written, ++written)), everyMs);
      }
    });
    socket.on("data", () => undefined).on("error", () => undefined);
    socket.on("close", () => {
      clearInterval(timer);
      resolve(written);
    });
    socket.on("timeout", () => reject(new Error("not closed")));
  });
}

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

test("a silent connection is closed", async () => {
  await closedByServer(Buffer.alloc(0));
});

test("a partial HTTP/2 preface is closed", async () => {
  await closedByServer(PREFACE.subarray(0, 10));
});

test("a preface sent a byte at a time is closed before it is complete", async () => {
  expect(await closedByServer(PREFACE, 50)).toBeLessThan(PREFACE.length);
});

test("half an HTTP/1.1 request head is closed", async () => {
  await closedByServer(Buffer.from("POST /email.v1.EmailService/Send HTTP/1.1\r\nHost: x\r\n"));
});

test("an idle HTTP/2 session is closed; it may open 100 streams at once", async () => {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on("error", () => undefined);
  await new Promise<void>((r) => session.once("remoteSettings", () => r()));
  expect(session.remoteSettings.maxConcurrentStreams).toBe(100);
  await new Promise<void>((r) => session.once("close", () => r()));
});

test("a session that keeps pinging after its last stream closed is closed after the idle limit", async () => {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on("error", () => undefined);
  const closed = new Promise<void>((r) => session.once("close", () => r()));
  const req = session.request({ ":method": "GET", ":path": "/healthz" });
  req.on("data", () => undefined).end();
  await new Promise<void>((r) => req.once("close", () => r()));
  // Frames keep coming, but no stream: that is not a use of the session.
  // Not once the server has closed it (a ping on a destroyed session throws).
  const pings = setInterval(() => {
    if (!session.destroyed && !session.closed) session.ping(() => undefined);
  }, 100);
  const outcome = await Promise.race([closed.then(() => "closed"), new Promise((r) => setTimeout(r, 10_000, "still open"))]);
  clearInterval(pings);
  session.destroy();
  expect(outcome).toBe("closed");
});

test("WatchOutbox streams are capped per key and in total, and freed when they end", async () => {
  const open = (key: string) => {
    const ac = new AbortController();
    const it = keyedClient(EmailService, t.url, key).watchOutbox({}, { signal: ac.signal })[Symbol.asyncIterator]();
    return { first: it.next(), close: () => ac.abort() };
  };
  const a1 = open(a.key);
  const a2 = open(a.key);
  await Promise.all([a1.first, a2.first]);
  const a3 = await refusal(open(a.key).first);
  expect([a3.code, a3.reason, a3.metadata.limit]).toEqual([Code.ResourceExhausted, "WATCH_STREAMS_EXHAUSTED", "2"]);
  const b1 = open(b.key);
  await b1.first;
  const b2 = await refusal(open(b.key).first);
  expect([b2.code, b2.reason, b2.metadata.limit]).toEqual([Code.ResourceExhausted, "WATCH_STREAMS_EXHAUSTED", "3"]);
  a1.close();
  await expect
    .poll(async () => {
      const again = open(b.key);
      try {
        await again.first;
        return "open";
      } catch {
        return "refused";
      } finally {
        again.close();
      }
    })
    .toBe("open");
  a2.close();
  b1.close();
});

test("watchers whose client went away log nothing above debug", async () => {
  const before = t.logs.length;
  // As in the report: one connection, streams it never reads, then the client is gone.
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on("error", () => undefined);
  const frame = Buffer.from([0, 0, 0, 0, 0]);
  for (let i = 0; i < 2; i++) {
    const s = session.request({
      ":method": "POST",
      ":path": "/email.v1.EmailService/WatchOutbox",
      "content-type": "application/grpc+proto",
      te: "trailers",
      authorization: `Bearer ${b.key}`,
    });
    s.on("error", () => undefined);
    s.pause();
    s.end(frame);
  }
  await expect.poll(() => t.app.tailer.subscriberCount).toBe(2);
  session.destroy();
  await expect.poll(() => t.app.tailer.subscriberCount).toBe(0);
  // Whatever the streams were doing when the session went (writing, waiting), nothing above debug.
  expect(t.logs.slice(before).filter((l) => (l.level as number) >= 40)).toEqual([]);
});
