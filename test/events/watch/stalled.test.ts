// A client that stops reading: HTTP/2 flow control leaves the server's frames unsent, and what the
// stream holds (its buffer, the events it took, the frames its client has not let out) stays
// within watch.buffer_size. Once that is full, the stream ends with RESOURCE_EXHAUSTED (reset with
// ENHANCE_YOUR_CALM: its trailers could not get past the unread frames), and its slot, subscription
// and frames are freed at once, without waiting for the client to read or leave.
import http2 from "node:http2";
import { afterAll, beforeAll, expect, test, vi } from "vitest";
import { Code } from "@connectrpc/connect";
import { startTestApp, type TestApp } from "../../helpers/app.js";
import { emailClient } from "../../helpers/clients.js";
import { pausedWatch } from "../../helpers/watch.js";

const BUFFER = 200;
const BURST = 4_000;
const BATCH = 100;
let t: TestApp;

beforeAll(async () => {
  t = await startTestApp({
    label: "watch_stalled",
    background: false,
    json: { accounts: [{ id: 1, from: "a@example.com", file_dir: "mail-out" }], watch: { poll_interval_ms: 50, buffer_size: BUFFER } },
  });
});
afterAll(async () => {
  await t?.close();
});

/** Waits until this many streams hold a subscription (the watch_streams gauge) and a slot. */
function streamsReach(n: number): Promise<void> {
  return vi.waitFor(
    () => {
      const subs = t.app.tailer.subscriberCount;
      const slots = t.app.watchSlots.open();
      if (subs !== n || slots !== n) throw new Error(`${subs} subscriptions and ${slots} slots, want ${n}`);
    },
    { timeout: 10_000, interval: 10 },
  );
}

/** A gRPC WatchOutbox stream on a raw HTTP/2 session that never reads a byte; `end` says how it ended. */
function rawStalled(): { end?: string } {
  const out: { end?: string } = {};
  const session = http2.connect(t.url);
  session.on("error", () => undefined);
  const s = session.request({
    ":method": "POST",
    ":path": "/email.v1.EmailService/WatchOutbox",
    "content-type": "application/grpc+proto",
    te: "trailers",
  });
  s.on("error", () => undefined);
  s.pause();
  s.end(Buffer.from([0, 0, 0, 0, 0]));
  s.once("trailers", (h) => (out.end ??= `grpc-status ${String(h["grpc-status"])}`));
  s.once("close", () => {
    out.end ??= s.rstCode === http2.constants.NGHTTP2_ENHANCE_YOUR_CALM ? "ENHANCE_YOUR_CALM" : `rst ${s.rstCode}`;
    session.destroy();
  });
  return out;
}

test(`streams whose clients stop reading during a burst of ${BURST} events end with RESOURCE_EXHAUSTED and free everything`, async () => {
  const raw = [rawStalled(), rawStalled()];
  // connect-node with its stream not iterated: the bytes wait in its HTTP/2 stream, unread.
  const connect = pausedWatch(t.url, {});
  await streamsReach(3);

  const client = emailClient(t.url);
  let held = 0;
  for (let sent = 0; sent < BURST; sent += BATCH) {
    await client.sendBatch({
      messages: Array.from({ length: BATCH }, (_, i) => ({ accountId: 1, to: [`s${sent + i}@example.com`], subject: "s", bodyText: "b" })),
    });
    held = Math.max(held, t.app.tailer.heldEvents);
  }
  // Never more than each stream's buffer_size held for the three of them.
  expect(held).toBeGreaterThan(0);
  expect(held).toBeLessThanOrEqual(3 * BUFFER);

  // Each stalled client learns how its stream ended without reading what was queued before it.
  await vi.waitFor(() => expect(raw.map((r) => r.end)).toEqual(["ENHANCE_YOUR_CALM", "ENHANCE_YOUR_CALM"]), {
    timeout: 10_000,
    interval: 10,
  });
  await streamsReach(0);
  expect(t.app.tailer.heldEvents).toBe(0);
  // connect-node reports the reset from the stream's error event, as INTERNAL naming the code.
  const { end } = await connect.drain();
  expect([end.code, end.message]).toEqual([Code.Internal, expect.stringContaining("NGHTTP2_ENHANCE_YOUR_CALM")]);
}, 60_000);
