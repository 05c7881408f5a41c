// Priority under a rate limit: with a backlog of BULK mail draining at the account's limit,
// TRANSACTIONAL messages sent meanwhile go out next, not behind the backlog (at most what was
// already given a start slot goes before them); the backlog keeps moving; nothing is lost.
import { expect, test } from "vitest";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { OutboxStatus, Priority } from "../../gen/email/v1/outbox_pb.js";
import { until } from "../faults/kit.js";
import { useSinkApp } from "../helpers/sink-app.js";

const RATE = 5;
const BULK = 80;
/** Start slots are taken this far ahead (the sender's hold window), plus the burst. */
const SLOTTED = RATE * 2 + 1;

const env = useSinkApp({
  label: "priority",
  account: { rate_limit: { max_per_second: RATE, burst: 1 } },
  json: { sender: { poll_interval_ms: 250 } },
});

const bulkSent = () => env.sink.messages.filter((m) => m.header("subject")?.startsWith("bulk")).length;

test("transactional mail overtakes a draining bulk backlog, and the backlog keeps moving", async () => {
  const dueAt = timestampFromMs(Date.now() + 1_000);
  await Promise.all(
    Array.from({ length: BULK }, (_, i) =>
      env.client.send({
        accountId: 1,
        to: [`b${i}@example.com`],
        subject: `bulk ${i}`,
        bodyText: "b",
        priority: Priority.BULK,
        sendAt: dueAt,
      }),
    ),
  );
  await until(() => expect(bulkSent()).toBeGreaterThanOrEqual(3), 20_000);

  const overtaken: { left: number; passed: number }[] = [];
  const startedWith = bulkSent();
  for (let i = 0; i < 5; i++) {
    const before = bulkSent();
    const sent = (await env.client.send({ accountId: 1, to: [`t${i}@example.com`], subject: `transactional ${i}`, bodyText: "t" })).outbox!;
    expect(sent.priority).toBe(Priority.TRANSACTIONAL);
    await until(() => expect(env.sink.messages.some((m) => m.header("subject") === `transactional ${i}`)).toBe(true), 20_000);
    // Counted in the sink's arrival order, not when the test looks: the bulk mail that reached the
    // sink before this message did, since it was sent.
    const at = env.sink.messages.findIndex((m) => m.header("subject") === `transactional ${i}`);
    const bulkBefore = env.sink.messages.slice(0, at).filter((m) => m.header("subject")?.startsWith("bulk")).length;
    overtaken.push({ left: BULK - before, passed: bulkBefore - before });
  }
  // In arrival order each would have waited for every bulk row left; it waited at most for
  // those that already had a start slot.
  const contested = overtaken.filter((o) => o.left > SLOTTED);
  expect(contested.length).toBeGreaterThanOrEqual(3);
  for (const o of contested) expect(o.passed).toBeLessThanOrEqual(SLOTTED);
  // Bulk was not starved: it kept going out between the transactional ones.
  expect(bulkSent()).toBeGreaterThan(startedWith);

  await until(() => expect(bulkSent()).toBe(BULK), 40_000);
  // Outcomes are written in batches after the sink answered: the rows catch up a moment later.
  await until(async () => {
    const { outboxes } = await env.client.listOutbox({ accountId: 1, pageSize: 100 });
    expect(outboxes.every((o) => o.status === OutboxStatus.SENT)).toBe(true);
    expect(outboxes.filter((o) => o.priority === Priority.BULK)).toHaveLength(BULK);
  }, 10_000);
}, 90_000);

test("an unknown priority is refused before anything is written", async () => {
  const err = await env.client
    .send({ accountId: 1, to: ["x@example.com"], subject: "s", bodyText: "b", priority: 7 as Priority })
    .catch((e: unknown) => e);
  expect(String(err)).toContain("priority must be TRANSACTIONAL or BULK");
});
