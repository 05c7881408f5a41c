// An attempt whose outcome is unknown keeps its Message-ID: when the connection breaks after the
// whole message went out, the server may have kept it, so the retry must be recognisable as the
// same message. A clear failure (a 4xx reply) moves it on. Either way the attempt counts for the
// backoff. (A break while the message is still being written moves it on too; the client sees a
// break as unknown as soon as the last byte left it, since it cannot tell what the server got.)
import { expect, test } from "vitest";
import { OutboxStatus } from "../../gen/email/v1/outbox_pb.js";
import { ManualClock } from "../helpers/clock.js";
import { rowOf, waitForRow } from "./harness.js";
import { useSinkApp } from "../helpers/sink-app.js";

const T0 = 1_700_000_000_000;
const clock = new ManualClock(T0);

const env = useSinkApp({
  label: "ambiguous_outcome",
  clock,
  json: { message_id_domain: "mail.test", sender: { poll_interval_ms: 600_000 } },
});

/** Sends once under `fault`, then lets the retry through; returns the Message-IDs the sink saw and the row. */
async function failOnceThenSend(fault: "reset-after-data" | "451") {
  env.sink.clear();
  env.sink.fault = fault === "451" ? undefined : fault;
  env.sink.script = fault === "451" ? (stage) => (stage === "data" ? { code: 451, message: "4.3.0 try later" } : undefined) : undefined;
  const { outbox } = await env.client.send({ accountId: 1, to: ["bob@example.com"], subject: fault, bodyText: "b", waitForAttempt: true });
  const id = Number(outbox!.outboxId);
  expect(outbox).toMatchObject({ status: OutboxStatus.FAILED, retries: 1 });
  const failed = await rowOf(env.t.app.pool, id);
  expect(failed.nextAttemptAt).toBe(T0 + 10_000);
  env.sink.fault = undefined;
  env.sink.script = undefined;
  clock.set(failed.nextAttemptAt!);
  env.t.app.sender.wake();
  const sent = await waitForRow(env.t.app.pool, id, { status: "sent", retries: 1 });
  clock.set(T0);
  return { id, failed, sent, seen: env.sink.messages.map((m) => m.messageId) };
}

test("a break after the whole message keeps the Message-ID for the retry; the attempt still counts", async () => {
  const { id, failed, sent, seen } = await failOnceThenSend("reset-after-data");
  expect(failed.lastError).toContain("the server may have kept it");
  // The server kept the first copy; both copies carry the same Message-ID.
  expect(seen).toEqual([`<outbox-${id}-0@mail.test>`, `<outbox-${id}-0@mail.test>`]);
  expect(sent.messageId).toBe(`<outbox-${id}-0@mail.test>`);
});

test("a 4xx moves the Message-ID on", async () => {
  const { id, sent, seen } = await failOnceThenSend("451");
  expect(seen).toEqual([`<outbox-${id}-1@mail.test>`]);
  expect(sent.messageId).toBe(`<outbox-${id}-1@mail.test>`);
});
