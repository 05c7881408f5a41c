// ListOutbox's query: a case-insensitive substring of the recipients (to, cc, bcc), subject or
// Message-ID, with '%' and '_' matching themselves; a number also matches that outbox id. It
// combines with the other filters and paging, and an overlong query is refused.
import { afterAll, beforeAll, expect, test } from "vitest";
import { Code } from "@connectrpc/connect";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { emailClient, type EmailClient } from "../helpers/clients.js";
import { refusal } from "../helpers/refusal.js";

let t: TestApp;
let client: EmailClient;
const id: Record<string, bigint> = {};
let messageId = "";

// Dev-mode accounts write .eml files: every Send below gets its attempt and its Message-ID.
beforeAll(async () => {
  const dir = `mail-out/search-${process.pid}`;
  t = await startTestApp({
    label: "list_search",
    json: {
      accounts: [1, 2].map((n) => ({ id: n, from: `Ops ${n} <ops${n}@example.com>`, file_dir: dir })),
      message_id_domain: "search.test",
    },
  });
  client = emailClient(t.url);
  const send = async (name: string, fields: { accountId?: number; to?: string[]; cc?: string[]; bcc?: string[]; subject?: string }) => {
    const res = await client.send({
      accountId: 1,
      to: ["nobody@example.com"],
      subject: name,
      bodyText: "b",
      waitForAttempt: true,
      ...fields,
    });
    id[name] = res.outbox!.outboxId;
    return res.outbox!;
  };
  await send("to", { to: ["Alice Liddell <alice@wonder.example>"] });
  await send("cc", { cc: ["carol@cc.example"] });
  await send("bcc", { bcc: ["dave@bcc.example"] });
  await send("percent", { subject: "50% off" });
  await send("digits", { subject: "500 items" });
  await send("underscore", { subject: "snake_case" });
  await send("unicode", { subject: "Grüße an Zoë" });
  await send("other account", { accountId: 2, to: ["alice@wonder.example"] });
  messageId = (await send("by message id", {})).messageId;
});
afterAll(() => t?.close());

async function search(query: string, extra: { accountId?: number } = {}): Promise<string[]> {
  const res = await client.listOutbox({ query, ...extra, pageSize: 100 });
  const names = new Map(Object.entries(id).map(([name, v]) => [v, name]));
  return res.outboxes.map((o) => names.get(o.outboxId) ?? String(o.outboxId));
}

test("matches recipients in to, cc and bcc, case-insensitively", async () => {
  expect(await search("ALICE@wonder")).toEqual(["other account", "to"]);
  expect(await search("liddell")).toEqual(["to"]);
  expect(await search("carol@CC")).toEqual(["cc"]);
  expect(await search("dave@bcc")).toEqual(["bcc"]);
});

test("matches the subject, with % and _ as plain characters, and non-ASCII text", async () => {
  expect(await search("50%")).toEqual(["percent"]);
  expect(await search("e_c")).toEqual(["underscore"]);
  expect(await search("e%c")).toEqual([]);
  expect(await search("zoË")).toEqual(["unicode"]);
});

test("matches the Message-ID, and a number or #number matches that outbox id", async () => {
  expect(messageId).toMatch(/^<outbox-\d+-0@search\.test>$/);
  expect(await search(messageId)).toEqual(["by message id"]);
  const cc = id.cc!;
  expect(await search(String(cc))).toContain("cc");
  expect(await search(`#${cc}`)).toEqual(["cc"]);
});

test("combines with the account filter and pages through matches", async () => {
  expect(await search("alice", { accountId: 2 })).toEqual(["other account"]);
  const first = await client.listOutbox({ query: "example", pageSize: 2 });
  const second = await client.listOutbox({ query: "example", pageSize: 2, pageToken: first.nextPageToken });
  expect(first.outboxes).toHaveLength(2);
  expect(second.outboxes[0]!.outboxId < first.outboxes[1]!.outboxId).toBe(true);
});

test("a query over 200 characters is refused and names the field", async () => {
  const r = await refusal(client.listOutbox({ query: "x".repeat(201) }));
  expect(r).toMatchObject({ code: Code.InvalidArgument, reason: "QUERY_TOO_LONG", fields: ["query"] });
  expect((await client.listOutbox({ query: "x".repeat(200) })).outboxes).toEqual([]);
});
