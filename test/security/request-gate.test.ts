// Before a byte of the body is read: a request without a valid key is refused in its own protocol
// and its connection (HTTP/1.1) or stream (HTTP/2) is closed; and the bytes all requests in
// flight hold are bounded by server.request_bytes_in_flight (RESOURCE_EXHAUSTED at once past it).
// Each request declares far more than it sends, so an answer at all proves the server did not
// wait for the body.
import { afterAll, beforeAll, expect, test } from "vitest";
import { Code } from "@connectrpc/connect";
import { EmailService } from "../../gen/email/v1/email_service_pb.js";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { sinkAccount, startTestApp, type TestApp } from "../helpers/app.js";
import { keyedClient, testKey } from "./keys.js";
import { partialGrpc, partialH1, type PartialAnswer } from "./partial.js";

const key = testKey("sender", "*");
const readOnly = testKey("reader", "*", ["read"]);
const SEND = "/email.v1.EmailService/Send";
const MIB = 1024 * 1024;
const BUDGET = 1 * MIB;
let t: TestApp;

beforeAll(async () => {
  t = await startTestApp({
    label: "request_gate",
    background: false,
    json: { api_keys: [key.entry, readOnly.entry], accounts: [sinkAccount(1, 1)], server: { request_bytes_in_flight: BUDGET } },
  });
});
afterAll(async () => {
  await t?.close();
});

const reason = (a: PartialAnswer) => a.error?.findDetails(ErrorInfoSchema)[0]?.reason;

test.each([
  ["Connect JSON", () => partialH1(t.url, SEND, { "content-type": "application/json" }, 47 * MIB)],
  ["gRPC-Web", () => partialH1(t.url, SEND, { "content-type": "application/grpc-web+proto" }, 47 * MIB)],
  ["gRPC", () => partialGrpc(t.url, SEND, {}, 47 * MIB)],
])("%s: a 47 MiB request without a key is refused before its body and closed", async (name, call) => {
  const answer = await call();
  expect(answer.error?.code).toBe(Code.Unauthenticated);
  expect(reason(answer)).toBe("API_KEY_MISSING");
  if (name !== "gRPC") await answer.closed;
});

test("a key without the method's scope is refused before the body", async () => {
  const answer = await partialGrpc(t.url, SEND, { authorization: `Bearer ${readOnly.key}` }, 47 * MIB);
  expect(answer.error?.code).toBe(Code.PermissionDenied);
  expect(reason(answer)).toBe("SCOPE_NOT_ALLOWED");
});

test("a declared body larger than the budget is refused at once", async () => {
  const answer = await partialH1(t.url, SEND, { "content-type": "application/json", authorization: `Bearer ${key.key}` }, 2 * MIB);
  expect(answer.error?.code).toBe(Code.ResourceExhausted);
  expect(reason(answer)).toBe("REQUEST_BUDGET_EXHAUSTED");
  await answer.closed;
});

test("an undeclared body is refused as soon as what it sent passes the budget", async () => {
  const answer = await partialGrpc(t.url, SEND, { authorization: `Bearer ${key.key}` }, 47 * MIB, 20, 64 * 1024);
  expect(answer.error?.code).toBe(Code.ResourceExhausted);
  expect(reason(answer)).toBe("REQUEST_BUDGET_EXHAUSTED");
  expect(t.app.requestBudget.inUse).toBe(0);
  answer.abort();
});

test("requests in flight share the budget, and give it back when they end", async () => {
  const auth = { "content-type": "application/json", authorization: `Bearer ${key.key}` };
  // The first holds 700 KiB of the 1 MiB while its body trickles in; a second cannot fit.
  const ac = new AbortController();
  void partialH1(t.url, SEND, auth, 700 * 1024, ac.signal);
  await expect.poll(() => t.app.requestBudget.inUse).toBe(700 * 1024);
  expect(reason(await partialH1(t.url, SEND, auth, 700 * 1024))).toBe("REQUEST_BUDGET_EXHAUSTED");
  const client = keyedClient(EmailService, t.url, key.key);
  await expect(client.send({ accountId: 1, to: ["bob@example.com"], subject: "small", bodyText: "fits" })).resolves.toBeDefined();
  ac.abort();
  await expect.poll(() => t.app.requestBudget.inUse).toBe(0);
});
