// AccountService/ListAccounts: the accounts a key covers, ordered by id, with their From and
// nothing of their SMTP settings; a key without the read scope is refused.
import { afterAll, beforeAll, expect, test } from "vitest";
import { Code, ConnectError } from "@connectrpc/connect";
import { AccountService } from "../../gen/email/v1/account_service_pb.js";
import { errorReason } from "../../src/client/errors.js";
import { sinkAccount, startTestApp, type TestApp } from "../helpers/app.js";
import { keyedClient, testKey } from "../security/keys.js";

const some = testKey("some", [3, 1]);
const all = testKey("all", "*", ["read"]);
const sendOnly = testKey("send-only", "*", ["send"]);
let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({
    label: "accounts",
    json: { accounts: [3, 1, 2].map((id) => sinkAccount(id, 2525)), api_keys: [some.entry, all.entry, sendOnly.entry] },
    background: false,
  });
});
afterAll(() => t?.close());

const list = (key: string) => keyedClient(AccountService, t.url, key).listAccounts({});

test("lists the accounts the key covers, by id, with their From address only", async () => {
  expect((await list(some.key)).accounts.map((a) => ({ accountId: a.accountId, fromAddress: a.fromAddress }))).toEqual([
    { accountId: 1, fromAddress: "Account 1 <sender1@example.com>" },
    { accountId: 3, fromAddress: "Account 3 <sender3@example.com>" },
  ]);
  expect((await list(all.key)).accounts.map((a) => a.accountId)).toEqual([1, 2, 3]);
});

test("a key without the read scope is refused", async () => {
  const err = await list(sendOnly.key).catch((e: unknown) => e);
  expect(ConnectError.from(err).code).toBe(Code.PermissionDenied);
  expect(errorReason(err)).toBe("SCOPE_NOT_ALLOWED");
});
