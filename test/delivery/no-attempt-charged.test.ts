// Problems that are not the SMTP server's cost no attempt: a row of an account this instance does
// not have is left for an instance that has it (not failed as CONFIG), and an attachment read that
// the database fails hands the claim back unspent, with the same Message-ID for the real attempt.
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { expect, test } from "vitest";
import { parseConfig } from "../../src/config/config.js";
import { enqueue } from "../../src/outbox/enqueue.js";
import { EventKind, FailureMode } from "../../src/outbox/types.js";
import { ManualClock } from "../helpers/clock.js";
import { sinkAccount } from "../helpers/app.js";
import { rowOf, waitForRow } from "./harness.js";
import { useSinkApp } from "../helpers/sink-app.js";

const T0 = 1_700_000_000_000;
const POLL_MS = 60_000;
const clock = new ManualClock(T0);

const env = useSinkApp({
  label: "no_attempt_charged",
  clock,
  json: { message_id_domain: "mail.test", sender: { poll_interval_ms: POLL_MS } },
});

async function kinds(id: number): Promise<number[]> {
  const [rows] = (await env.t.app.pool.query("SELECT kind FROM outbox_event WHERE outbox_id = ? ORDER BY id", [id])) as unknown as [
    { kind: number }[],
  ];
  return rows.map((r) => r.kind);
}

test("a row of an account this instance lacks stays PENDING, unclaimed, until the account is configured", async () => {
  // Written as another instance with account 2 would have written it.
  const { row } = await enqueue(
    env.t.app.pool,
    {
      accountId: 2,
      kind: "send",
      from: "Two <two@example.com>",
      to: ["bob@example.com"],
      cc: [],
      bcc: [],
      subject: "for two",
      bodyText: "b",
      sendAt: T0,
      failureMode: FailureMode.none,
    },
    T0,
  );
  env.t.app.sender.wake();
  // A row of account 1 sent after it proves the sender looked past it.
  await env.client.send({ accountId: 1, to: ["bob@example.com"], subject: "for one", bodyText: "b", waitForAttempt: true });
  expect(await rowOf(env.t.app.pool, row.id)).toMatchObject({ status: "pending", retries: 0, lastErrorClass: null });
  expect(await kinds(row.id)).toEqual([EventKind.created]);

  const json = {
    accounts: [sinkAccount(1, env.sink.port), sinkAccount(2, env.sink.port)],
    message_id_domain: "mail.test",
    sender: { poll_interval_ms: POLL_MS },
  };
  env.t.app.reload(parseConfig(json, { DATABASE_URL: env.t.db.url, PORT: "0", HOST: "127.0.0.1" }, process.cwd()));
  env.t.app.sender.wake();
  const sent = await waitForRow(env.t.app.pool, row.id, { status: "sent", retries: 0 });
  expect(sent.messageId).toBe(`<outbox-${row.id}-0@mail.test>`);
});

test("an attachment read the database fails hands the claim back unspent; the next attempt sends it", async () => {
  const { outbox } = await env.client.send({
    accountId: 1,
    to: ["bob@example.com"],
    subject: "with file",
    bodyText: "b",
    sendAt: timestampFromMs(T0 + 60_000),
    attachments: [{ filename: "a.txt", contentType: "text/plain", content: Buffer.from("hello") }],
  });
  const id = Number(outbox!.outboxId);
  // The chunks are out of reach when the attempt starts.
  await env.t.app.pool.query("RENAME TABLE outbox_attachment_chunk TO outbox_attachment_chunk_away");
  try {
    clock.set(T0 + 60_000);
    env.t.app.sender.wake();
    await expect.poll(() => kinds(id), { timeout: 20_000 }).toEqual([EventKind.scheduled, EventKind.sending, EventKind.released]);
    expect(await rowOf(env.t.app.pool, id)).toMatchObject({ status: "pending", retries: 0 });
  } finally {
    await env.t.app.pool.query("RENAME TABLE outbox_attachment_chunk_away TO outbox_attachment_chunk");
  }
  const handedBack = await rowOf(env.t.app.pool, id);
  expect(handedBack.nextAttemptAt).toBe(T0 + 60_000 + POLL_MS);
  clock.set(handedBack.nextAttemptAt!);
  env.t.app.sender.wake();
  const sent = await waitForRow(env.t.app.pool, id, { status: "sent", retries: 0 });
  expect(sent.messageId).toBe(`<outbox-${id}-0@mail.test>`);
  const msg = env.sink.messages.find((m) => m.messageId === sent.messageId)!;
  expect(msg.parsed.attachments.map((a) => a.content.toString())).toEqual(["hello"]);
});
