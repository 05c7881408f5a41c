// A row enqueued on this instance is claimed at once: with a one-minute poll interval, delivery
// still comes well inside the deadline, for each of several rows in turn.
import { expect, test } from "vitest";
import { useSinkApp } from "../helpers/sink-app.js";

const POLL_MS = 60_000;
/** Generous for a loaded machine, and still far below the poll interval. */
const DEADLINE_MS = 20_000;

const env = useSinkApp({ label: "local_wakeup", json: { message_id_domain: "mail.test", sender: { poll_interval_ms: POLL_MS } } });

test("each Send is delivered without waiting for the poll", async () => {
  expect(env.t.config.sender.pollIntervalMs).toBe(POLL_MS);
  // Sequential, so every row arrives after the start-up claim pass has long finished: only the
  // wake-up on enqueue can pick it up before the next poll.
  for (let i = 0; i < 3; i++) {
    const { outbox } = await env.client.send({ accountId: 1, to: ["bob@example.com"], subject: `n${i}`, bodyText: "b" });
    const msg = await env.sink.waitFor(i + 1, DEADLINE_MS).then((all) => all[i]!);
    expect(msg.messageId).toBe(`<outbox-${outbox!.outboxId}-0@mail.test>`);
  }
});
