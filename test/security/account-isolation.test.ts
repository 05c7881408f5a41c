// A key sees only its accounts: List and Watch without account_id, Get by id, Watch by outbox id.
import { afterAll, beforeAll, expect, test } from "vitest";
import { Code } from "@connectrpc/connect";
import { EmailService, OutboxEventKind } from "../../gen/email/v1/email_service_pb.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { refusal } from "../helpers/refusal.js";
import { keyedClient, testKey } from "./keys.js";

const admin = testKey("admin", "*");
const only2 = testKey("only-2", [2]);
const both = testKey("two-and-three", [2, 3]);

let t: TestApp;
beforeAll(async () => {
  const account = (id: number) => ({ id, from: `a${id}@example.com`, file_dir: `/tmp/eo-isolation-${id}` });
  t = await startTestApp({
    label: "isolation",
    background: false,
    json: {
      accounts: [account(1), account(2), account(3)],
      api_keys: [admin.entry, only2.entry, both.entry],
      watch: { heartbeat_ms: 100 },
    },
  });
});
afterAll(() => t?.close());

const client = (key: string) => keyedClient(EmailService, t.url, key);
const send = (accountId: number) =>
  client(admin.key)
    .send({ accountId, to: ["bob@example.com"], subject: `for ${accountId}`, bodyText: "x" })
    .then((r) => r.outbox!);

test("ListOutbox without account_id returns only the key's accounts", async () => {
  for (const id of [1, 2, 3, 1]) await send(id);
  const accounts = async (key: string) => (await client(key).listOutbox({})).outboxes.map((o) => o.accountId);
  expect(await accounts(only2.key)).toEqual([2]);
  expect((await accounts(both.key)).sort()).toEqual([2, 3]);
  expect((await accounts(admin.key)).sort()).toEqual([1, 1, 2, 3]);
});

test("GetOutbox of another account's row is NOT_FOUND, like a missing row", async () => {
  const row = await send(1);
  const hidden = await refusal(client(only2.key).getOutbox({ outboxId: row.outboxId }));
  const missing = await refusal(client(only2.key).getOutbox({ outboxId: row.outboxId + 1000n }));
  expect(hidden).toMatchObject({ code: Code.NotFound, reason: "OUTBOX_NOT_FOUND" });
  expect({ ...hidden, metadata: {} }).toEqual({ ...missing, metadata: {} });
});

test("WatchOutbox without account_id streams only the key's accounts", async () => {
  const ac = new AbortController();
  const stream = client(only2.key).watchOutbox({}, { signal: ac.signal })[Symbol.asyncIterator]();
  // The first heartbeat means the stream is live; every later commit reaches it in order.
  await stream.next();
  await send(1);
  const mine = await send(2);
  let next;
  do next = (await stream.next()).value;
  while (next?.message.case === "heartbeat");
  ac.abort();
  // Account 1's event was committed first: had it leaked, it would have come first.
  expect(next?.message.value).toMatchObject({ accountId: 2, outboxId: mine.outboxId, kind: OutboxEventKind.CREATED });
});

test("WatchOutbox naming another account's row by id streams nothing of it", async () => {
  const other = await send(1);
  const ac = new AbortController();
  const items = client(only2.key).watchOutbox({ outboxIds: [other.outboxId], includeCurrent: true }, { signal: ac.signal });
  const stream = items[Symbol.asyncIterator]();
  // No snapshot of the row: the stream starts with an idle heartbeat.
  const first = (await stream.next()).value;
  expect(first?.message.case).toBe("heartbeat");
  const before = first?.message.case === "heartbeat" ? first.message.value.lastEventId : 0n;
  await client(admin.key).cancelOutbox({ outboxId: other.outboxId });
  // A heartbeat past the cancellation's event proves the stream passed it without sending it.
  for (;;) {
    const item = (await stream.next()).value;
    expect(item?.message.case).toBe("heartbeat");
    if (item?.message.case === "heartbeat" && item.message.value.lastEventId > before) break;
  }
  ac.abort();
});
