// A stream that starts ahead of the tailer (which reads the table only on its next poll or local
// commit while nobody watches) is not cut off by the events before its start that the tailer
// still hands on: they are already behind it, so they take no room in its buffer.
import { afterAll, beforeAll, expect, test } from "vitest";
import { OutboxStatus } from "../../../gen/email/v1/outbox_pb.js";
import { lastEventId } from "../../../src/outbox/events.js";
import { sinkAccount, startTestApp, type TestApp } from "../../helpers/app.js";
import { emailClient } from "../../helpers/clients.js";
import { startSmtpSink, type SmtpSink } from "../../helpers/smtp-sink.js";
import { ids, subscribersReach, untilSent, watch } from "../../helpers/watch.js";

const BUFFER = 5;
let sink: SmtpSink;
let t: TestApp;

beforeAll(async () => {
  sink = await startSmtpSink();
  // No poll within the test: the tailer reads only when a local commit wakes it with a watcher open.
  t = await startTestApp({
    label: "watch_lagging_tailer",
    json: { accounts: [sinkAccount(1, sink.port)], watch: { poll_interval_ms: 600_000, buffer_size: BUFFER } },
  });
});
afterAll(async () => {
  await t?.close();
  await sink?.close();
});

test("events before a stream's start that a lagging tailer hands on do not overflow it", async () => {
  const client = emailClient(t.url);
  // More events than the buffer holds, committed while nobody watches (no waitForAttempt: it
  // would watch): the tailer does not read them.
  const old = await Promise.all(
    [0, 1, 2].map((i) => client.send({ accountId: 1, to: [`old${i}@example.com`], subject: "o", bodyText: "b" })),
  );
  await untilSent(
    t.app,
    old.map((r) => Number(r.outbox!.outboxId)),
  );
  const start = await lastEventId(t.app.pool);
  expect(start - t.app.tailer.lastId).toBeGreaterThanOrEqual(BUFFER);

  const w = watch(t.url, "connect-node gRPC (HTTP/2)", { afterEventId: start });
  await subscribersReach(t.app, 1);
  await w.until((x) => x.heartbeats().length > 0);
  // This commit wakes the tailer, which reads the old events and the new ones in one page.
  const sent = await client.send({ accountId: 1, to: ["new@example.com"], subject: "n", bodyText: "b", waitForAttempt: true });
  const id = Number(sent.outbox!.outboxId);
  await w.until((x) => x.events().some((e) => e.outboxId === id && e.status === OutboxStatus.SENT));
  expect(await Promise.race([w.ended, "still open"])).toBe("still open");
  expect(ids(w.events()).every((e) => e > start)).toBe(true);
  expect(new Set(w.events().map((e) => e.outboxId))).toEqual(new Set([id]));
  w.cancel();
  await subscribersReach(t.app, 0);
});
