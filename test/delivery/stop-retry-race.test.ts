// A RetryOutbox whose claim commits just after the sender stopped must not send (the transports
// are closed, the database pool is about to end): the claim is handed back and the caller is told
// the server is stopping.
import { afterAll, beforeAll, expect, test } from "vitest";
import { Code, ConnectError } from "@connectrpc/connect";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { appendEvents, readEventsAfter } from "../../src/outbox/events.js";
import { EventKind } from "../../src/outbox/types.js";
import { emailClient } from "../helpers/clients.js";
import { sinkAccount, startTestApp, type TestApp } from "../helpers/app.js";
import { startSmtpSink, type SmtpSink } from "../helpers/smtp-sink.js";
import { waitForLockWait } from "../outbox/outbox-db.js";
import { rowOf } from "./harness.js";

let sink: SmtpSink;
let t: TestApp;

beforeAll(async () => {
  sink = await startSmtpSink();
  t = await startTestApp({
    label: "stop_retry_race",
    json: { accounts: [sinkAccount(1, sink.port)], sender: { poll_interval_ms: 600_000 } },
  });
});
afterAll(async () => {
  await t?.close();
  await sink?.close();
});

test("a retry claimed while the sender stops is released, not sent", async () => {
  const client = emailClient(t.url);
  const later = timestampFromMs(Date.now() + 3_600_000);
  const { outbox } = await client.send({ accountId: 1, to: ["bob@example.com"], subject: "s", bodyText: "b", sendAt: later });
  const id = outbox!.outboxId;

  // Hold the event counter so the retry's claim transaction stops just before its COMMIT.
  const blocker = await t.app.pool.getConnection();
  await blocker.beginTransaction();
  const event = {
    outboxId: 0,
    accountId: 1,
    kind: EventKind.created,
    status: "pending",
    retries: 0,
    nextAttemptAt: null,
    providerMessageId: null,
    messageId: null,
    error: null,
  } as const;
  await appendEvents(blocker, [event], Date.now());
  const retry = client.retryOutbox({ outboxId: id, force: true }).then(
    () => undefined,
    (err: unknown) => ConnectError.from(err),
  );
  await waitForLockWait(t.app.pool);

  await t.app.sender.stop();
  await blocker.rollback();
  blocker.release();

  const err = await retry;
  expect(err?.code).toBe(Code.Unavailable);
  expect(sink.messages).toHaveLength(0);
  const row = await rowOf(t.app.pool, id);
  expect(row).toMatchObject({ status: "pending", retries: 0 });
  const kinds = (await readEventsAfter(t.app.pool, 0, 100)).filter((e) => e.outboxId === row.id).map((e) => e.kind);
  expect(kinds).toEqual([EventKind.scheduled, EventKind.retried, EventKind.released]);
});
