// A connection that has not opened its first request within server.first_bytes_timeout_ms is
// closed, whatever state it stopped in: before any byte, after the HTTP/2 preface, in the middle
// of a frame, after SETTINGS with frames still flowing but no HEADERS, or halfway through an
// HTTP/1.1 request line. The idle limit is set far beyond the test, so only that limit can close them.
import net from "node:net";
import { afterAll, beforeAll, test } from "vitest";
import { startTestApp, type TestApp } from "../helpers/app.js";

const FIRST_BYTES_MS = 300;
let t: TestApp;

beforeAll(async () => {
  t = await startTestApp({
    label: "first_request",
    background: false,
    json: {
      accounts: [{ id: 1, from: "a@example.com", file_dir: "mail-out" }],
      server: { first_bytes_timeout_ms: FIRST_BYTES_MS, idle_timeout_ms: 600_000 },
    },
  });
});
afterAll(async () => {
  await t?.close();
});

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
/** An HTTP/2 frame header: 24-bit length, type, flags, stream 0. */
const frameHead = (length: number, type: number) => Buffer.from([length >> 16, (length >> 8) & 0xff, length & 0xff, type, 0, 0, 0, 0, 0]);
const SETTINGS = 0x4;
const PING = 0x6;

/**
 * Connects, writes `bytes`, then `every` (if given) each 50 ms, and resolves when the server
 * closes the connection; fails if it is still open after `deadlineMs`.
 */
function closedByServer(bytes: Buffer, every?: Buffer, deadlineMs = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(t.app.port, "127.0.0.1", () => socket.write(bytes));
    const ticker = every && setInterval(() => socket.write(every), 50);
    const deadline = setTimeout(() => {
      socket.destroy();
      reject(new Error(`still open after ${deadlineMs} ms`));
    }, deadlineMs);
    socket.on("data", () => undefined).on("error", () => undefined);
    socket.on("close", () => {
      clearInterval(ticker);
      clearTimeout(deadline);
      resolve();
    });
  });
}

test("a connection that sends nothing is closed", () => closedByServer(Buffer.alloc(0)));

test("a connection that sends the HTTP/2 preface and nothing else is closed", () => closedByServer(PREFACE));

test("a connection that sends the preface and a SETTINGS frame header without its payload is closed", () =>
  closedByServer(Buffer.concat([PREFACE, frameHead(6, SETTINGS)])));

test("a connection that sends SETTINGS and keeps pinging but never opens a stream is closed", () =>
  closedByServer(Buffer.concat([PREFACE, frameHead(0, SETTINGS)]), Buffer.concat([frameHead(8, PING), Buffer.alloc(8)])));

test("a connection that sends half an HTTP/1.1 request line is closed", () => closedByServer(Buffer.from("POST /email.v1.Email")));
