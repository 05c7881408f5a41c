// Per-account limits end to end: a rate-limited account sends no faster than its limit (counted over
// windows, with generous bounds), its backlog does not hold up another account, and a "slow down"
// reply pauses the whole account.
import { afterEach, expect, test, vi } from "vitest";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { emailClient } from "../helpers/clients.js";
import { sinkAccount, startTestApp, type TestApp } from "../helpers/app.js";
import { startSmtpSink, type SmtpScript, type SmtpSink } from "../helpers/smtp-sink.js";
import { readEventsAfter } from "../../src/outbox/events.js";
import { getOutbox } from "../../src/outbox/store.js";
import { scrape, total } from "./scrape.js";

const opened: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const x of opened.splice(0).reverse()) await x.close();
});

/** A sink that notes when each stage arrives. */
async function timedSink(script?: SmtpScript): Promise<{ sink: SmtpSink; times: { mailFrom: number[]; data: number[] } }> {
  const times = { mailFrom: [] as number[], data: [] as number[] };
  const sink = await startSmtpSink({
    script: (stage, ctx) => {
      if (stage === "mailFrom" || stage === "data") times[stage].push(Date.now());
      return script?.(stage, ctx);
    },
  });
  opened.push(sink);
  return { sink, times };
}

async function app(json: Record<string, unknown>, label: string): Promise<TestApp> {
  const t = await startTestApp({ label, json });
  opened.push(t);
  return t;
}

async function enqueue(t: TestApp, accountId: number, n: number): Promise<number[]> {
  const client = emailClient(t.url);
  const ids: number[] = [];
  for (let i = 0; i < n; i++) {
    const res = await client.send({ accountId, to: [`rcpt${i}@example.com`], subject: `m${i}`, bodyText: "b" });
    ids.push(Number(res.outbox!.outboxId));
  }
  return ids;
}

/** The most arrivals within any window of `ms`. */
function busiestWindow(times: number[], ms: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; j < sorted.length; j++) {
    while (sorted[j]! - sorted[i]! >= ms) i++;
    most = Math.max(most, j - i + 1);
  }
  return most;
}

test("an account limited to 5 per second sends no faster than that", async () => {
  const { sink, times } = await timedSink();
  const t = await app({ accounts: [{ ...sinkAccount(1, sink.port), rate_limit: { max_per_second: 5, burst: 1 } }] }, "ops_rate");
  const n = 12;
  await enqueue(t, 1, n);
  await sink.waitFor(n, 30_000);
  // One token to start with, then one per 200 ms: the 12th starts 2.2 s after the first at the
  // earliest. Bounds are loose where the machine could make them fail, tight where only a
  // missing limit could.
  const starts = times.data;
  expect(Math.max(...starts) - Math.min(...starts)).toBeGreaterThanOrEqual(2_200 * 0.85);
  expect(busiestWindow(starts, 1_000)).toBeLessThanOrEqual(5 + 1 + 1);
  expect(new Set(sink.messages.map((m) => m.messageId)).size).toBe(n);
});

test("a rate-limited backlog is claimed only as far as its start slots reach, so it holds up no other account", async () => {
  const slow = await timedSink();
  const fast = await timedSink();
  const t = await app(
    {
      accounts: [{ ...sinkAccount(1, slow.sink.port), rate_limit: { max_per_second: 2, burst: 1 } }, sinkAccount(2, fast.sink.port)],
      sender: { max_in_flight: 8, batch_size: 8 },
    },
    "ops_backlog",
  );
  // The backlog becomes due all at once, in 3 s, however long enqueueing takes.
  const client = emailClient(t.url);
  const dueAt = timestampFromMs(Date.now() + 3_000);
  const backlog = await Promise.all(
    Array.from({ length: 20 }, async (_, i) =>
      Number(
        (await client.send({ accountId: 1, to: [`rcpt${i}@example.com`], subject: `m${i}`, bodyText: "b", sendAt: dueAt })).outbox!
          .outboxId,
      ),
    ),
  );
  await slow.sink.waitFor(1, 20_000);
  const sentBefore = slow.sink.messages.length;
  await enqueue(t, 2, 1);
  await fast.sink.waitFor(1, 20_000);
  // Had account 1's claims taken every slot, the other account's row would have waited behind
  // about 11 more sends at 2 per second. It went out long before that.
  expect(slow.sink.messages.length - sentBefore).toBeLessThanOrEqual(4);
  // Only rows with a start slot within the hold window (2 s at 2/s, plus the burst) are claimed:
  // the rest of the backlog waits in the queue, not in SENDING.
  const [[{ sending }]] = (await t.app.pool.query(
    "SELECT COUNT(*) AS sending FROM outbox WHERE account_id = 1 AND status = 'sending'",
  )) as unknown as [[{ sending: number }]];
  expect(Number(sending)).toBeLessThanOrEqual(1 + 4 + 1);

  // Nothing was claimed only to be handed back: every message goes out once, on its first attempt.
  await slow.sink.waitFor(20, 40_000);
  for (const id of backlog) {
    await vi.waitFor(async () => expect(await getOutbox(t.app.pool, id)).toMatchObject({ status: "sent", retries: 0 }), {
      timeout: 10_000,
    });
  }
  expect((await readEventsAfter(t.app.pool, 0, 10_000)).filter((e) => e.kind === 10 && e.accountId === 1)).toEqual([]);
  expect(new Set(slow.sink.messages.map((m) => m.messageId)).size).toBe(20);
  expect(busiestWindow(slow.times.data, 1_000)).toBeLessThanOrEqual(2 + 1 + 1);
}, 60_000);

test("a 421 reply pauses the whole account, not just the message it answered", async () => {
  let refused = false;
  const { sink, times } = await timedSink((stage) => {
    if (stage !== "mailFrom" || refused) return undefined;
    refused = true;
    return { code: 421, message: "4.7.0 Try again later, closing connection" };
  });
  const pauseMs = 1_500;
  const t = await app(
    {
      accounts: [{ ...sinkAccount(1, sink.port, { max_connections: 1 }), rate_limit: { slow_down_pause_ms: pauseMs } }],
      sender: { poll_interval_ms: 100 },
    },
    "ops_slowdown",
  );
  const [first, ...rest] = await enqueue(t, 1, 3);
  await sink.waitFor(2, 20_000);

  const refusedAt = times.mailFrom[0]!;
  // The two others were held until the pause ended (small slack for timer and clock rounding).
  for (const at of times.mailFrom.slice(1)) expect(at).toBeGreaterThanOrEqual(refusedAt + pauseMs - 50);
  for (const id of rest) {
    await vi.waitFor(async () => expect(await getOutbox(t.app.pool, id)).toMatchObject({ status: "sent", retries: 0 }), {
      timeout: 10_000,
    });
  }
  // The refused message itself is an ordinary transient failure, retried with backoff.
  expect(await getOutbox(t.app.pool, first!)).toMatchObject({ status: "failed", retries: 1, lastErrorClass: "SMTP_TRANSIENT" });

  const paused = t.logs.find((l) => l.msg === "slow-down reply: account paused");
  expect(paused).toMatchObject({ outbox_id: first, account_id: 1, attempt: 1, error_class: "SMTP_TRANSIENT", pause_ms: pauseMs });
  expect(paused!.message_id).toMatch(/^<outbox-\d+-0@/);
  expect(total(await scrape(t.url), "email_outbox_slow_down_pauses_total", { account_id: "1" })).toBe(1);
});
