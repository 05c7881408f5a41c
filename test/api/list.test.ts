// ListOutbox: newest first, keyset paging that yields every row exactly once, the page size
// rules (0 → 50, 1..500, otherwise limit_out_of_range), and the account and status filters.
import { afterAll, beforeAll, expect, test } from "vitest";
import { Code } from "@connectrpc/connect";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ListOutboxRequestSchema } from "../../gen/email/v1/email_service_pb.js";
import { OutboxStatus } from "../../gen/email/v1/outbox_pb.js";
import { sinkAccount, startTestApp, type TestApp } from "../helpers/app.js";
import { emailClient, type EmailClient } from "../helpers/clients.js";
import { refusal } from "../helpers/refusal.js";

let t: TestApp;
let client: EmailClient;
/** Account 1's seven rows, oldest first; the 2nd and 5th are cancelled. */
let ids: bigint[];
const BULK = 51;

// No sender: every row stays where the requests left it. The accounts are never dialled.
beforeAll(async () => {
  t = await startTestApp({ label: "api_list", background: false, json: { accounts: [sinkAccount(1, 9), sinkAccount(2, 9)] } });
  client = emailClient(t.url);
  ids = [];
  for (let i = 0; i < 7; i++) {
    const res = await client.send({ accountId: 1, to: ["bob@example.com"], subject: `row ${i}`, bodyText: "b" });
    ids.push(res.outbox!.outboxId);
  }
  for (const i of [1, 4]) await client.cancelOutbox({ outboxId: ids[i]! });
  await Promise.all(
    Array.from({ length: BULK }, (_, i) => client.send({ accountId: 2, to: ["carol@example.com"], subject: `bulk ${i}`, bodyText: "b" })),
  );
});
afterAll(() => t?.close());

type ListInit = MessageInitShape<typeof ListOutboxRequestSchema>;

/** Follows next_page_token to the end; returns the ids of every page. */
async function pages(req: ListInit): Promise<bigint[][]> {
  const out: bigint[][] = [];
  let pageToken = "";
  do {
    const res = await client.listOutbox({ ...req, pageToken });
    out.push(res.outboxes.map((o) => o.outboxId));
    pageToken = res.nextPageToken;
  } while (pageToken && out.length < 100);
  return out;
}

const newestFirst = (list: bigint[]) => [...list].reverse();

test("page_size 3 pages through seven rows newest first, each exactly once", async () => {
  const all = await pages({ accountId: 1, pageSize: 3 });
  expect(all.map((p) => p.length)).toEqual([3, 3, 1]);
  expect(all.flat()).toEqual(newestFirst(ids));
});

test("a page size that divides the rows evenly ends without an empty page", async () => {
  const all = await pages({ accountId: 1, pageSize: 7 });
  expect(all).toEqual([newestFirst(ids)]);
});

test("page_size 0 means 50", async () => {
  const all = await pages({ accountId: 2, pageSize: 0 });
  expect(all.map((p) => p.length)).toEqual([50, BULK - 50]);
});

test("page_size 500 is allowed; every row is listed once", async () => {
  const [page] = await pages({ pageSize: 500 });
  expect(page).toHaveLength(7 + BULK);
  expect(new Set(page).size).toBe(7 + BULK);
});

test.each([501, 100_000])("page_size %i is refused with limit_out_of_range", async (pageSize) => {
  const r = await refusal(client.listOutbox({ pageSize }));
  expect(r).toMatchObject({
    code: Code.InvalidArgument,
    message: "limit_out_of_range",
    reason: "LIMIT_OUT_OF_RANGE",
    fields: ["page_size"],
  });
});

test("a page token the server did not issue is refused", async () => {
  const r = await refusal(client.listOutbox({ pageToken: "bm90LWEtdG9rZW4" }));
  expect(r).toMatchObject({ code: Code.InvalidArgument, reason: "PAGE_TOKEN_INVALID", fields: ["page_token"] });
});

test("filter by account", async () => {
  const res = await client.listOutbox({ accountId: 2, pageSize: 500 });
  expect(res.outboxes).toHaveLength(BULK);
  expect(res.outboxes.every((o) => o.accountId === 2)).toBe(true);
  expect((await client.listOutbox({ accountId: 3 })).outboxes).toEqual([]);
});

test("filter by status, alone and with an account", async () => {
  const cancelled = await client.listOutbox({ statuses: [OutboxStatus.CANCELLED] });
  expect(cancelled.outboxes.map((o) => o.outboxId)).toEqual([ids[4], ids[1]]);
  expect(cancelled.outboxes.every((o) => o.status === OutboxStatus.CANCELLED)).toBe(true);

  const pending = await client.listOutbox({ accountId: 1, statuses: [OutboxStatus.PENDING] });
  expect(pending.outboxes.map((o) => o.outboxId)).toEqual(newestFirst(ids).filter((id) => id !== ids[1] && id !== ids[4]));

  const either = await client.listOutbox({ accountId: 1, statuses: [OutboxStatus.PENDING, OutboxStatus.CANCELLED] });
  expect(either.outboxes.map((o) => o.outboxId)).toEqual(newestFirst(ids));

  expect((await client.listOutbox({ statuses: [OutboxStatus.SENT] })).outboxes).toEqual([]);
});

test("paging with a status filter keeps the filter on every page", async () => {
  const all = await pages({ accountId: 1, statuses: [OutboxStatus.PENDING], pageSize: 2 });
  expect(all.map((p) => p.length)).toEqual([2, 2, 1]);
  expect(all.flat()).toEqual(newestFirst(ids).filter((id) => id !== ids[1] && id !== ids[4]));
});

test("an unknown status in the filter is refused", async () => {
  const r = await refusal(client.listOutbox({ statuses: [42 as OutboxStatus] }));
  expect(r).toMatchObject({ code: Code.InvalidArgument, reason: "STATUS_INVALID" });
});

test("OUTBOX_STATUS_UNSPECIFIED in the filter means any status, as the enum documents", async () => {
  const res = await client.listOutbox({ accountId: 1, statuses: [OutboxStatus.UNSPECIFIED] });
  expect(res.outboxes.map((o) => o.outboxId)).toEqual(newestFirst(ids));
});
