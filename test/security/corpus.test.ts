// Runs the hostile corpus against the real server: typed cases over gRPC and Connect JSON, raw
// cases as bytes. Each must be refused exactly as listed, write nothing, and leave the server
// serving.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { EmailService } from "../../gen/email/v1/email_service_pb.js";
import { MailboxService } from "../../gen/email/v1/mailbox_service_pb.js";
import { Health, HealthCheckResponse_ServingStatus as Serving } from "../../gen/grpc/health/v1/health_pb.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { refusal, type Refusal } from "../helpers/refusal.js";
import { RAW, TYPED, type Expected, type RawCase, type TypedCase } from "./corpus.js";
import { fingerprinter, type Fingerprinter } from "./fingerprint.js";
import { keyedClient, PROTOCOLS, testKey, type Protocol } from "./keys.js";
import { postConnect, postGrpc, type RawAnswer } from "./raw.js";

const admin = testKey("admin", "*");
let t: TestApp;
let db: Fingerprinter;
let baseline: Record<string, string>;

beforeAll(async () => {
  t = await startTestApp({
    label: "corpus",
    background: false,
    json: { accounts: [{ id: 1, from: "Ops <ops@example.com>", file_dir: "/tmp/eo-corpus" }], api_keys: [admin.entry] },
  });
  // Rows for the corpus to (fail to) touch: one due, one scheduled, one ingested message.
  const email = keyedClient(EmailService, t.url, admin.key);
  await email.send({ accountId: 1, to: ["bob@example.com"], subject: "seed", bodyText: "x" });
  await email.send({
    accountId: 1,
    to: ["bob@example.com"],
    subject: "later",
    bodyText: "x",
    sendAt: timestampFromMs(Date.now() + 3600_000),
  });
  await keyedClient(MailboxService, t.url, admin.key).ingestMessage({
    accountId: 1,
    raw: Buffer.from("From: c@example.org\r\nMessage-ID: <seed@example.org>\r\nSubject: s\r\n\r\nhi\r\n"),
  });
  db = await fingerprinter(t.db.url);
  baseline = await db.take();
});
afterAll(async () => {
  await db?.close();
  await t?.close();
});

test("the corpus has at least 100 distinct requests", () => {
  const names = [...TYPED, ...RAW].map((c) => c.name);
  expect(new Set(names).size).toBe(names.length);
  expect(names.length).toBeGreaterThanOrEqual(100);
});

function check(r: Refusal | { http: number }, expected: Expected): void {
  if ("http" in expected) {
    expect(r).toEqual({ http: expected.http });
    return;
  }
  expect(r).toMatchObject({ code: expected.code, reason: expected.reason });
  const refused = r as Refusal;
  if (expected.field !== undefined) expect(refused.fields[0]).toBe(expected.field);
  if (expected.message) expect(refused.message).toMatch(expected.message);
}

async function call(rpc: TypedCase["rpc"], request: Record<string, unknown>, protocol: Protocol): Promise<unknown> {
  const service = rpc === "IngestMessage" || rpc === "GetMessage" || rpc === "ListMessages" ? MailboxService : EmailService;
  const client = keyedClient(service, t.url, admin.key, protocol) as unknown as Record<string, (req: unknown) => unknown>;
  const result = client[rpc[0]!.toLowerCase() + rpc.slice(1)]!(request);
  if (rpc !== "WatchOutbox") return result;
  for await (const item of result as AsyncIterable<unknown>) return item;
}

const asRefusal = async (answer: RawAnswer): Promise<Refusal | { http: number }> => {
  if ("http" in answer) return answer;
  if ("ok" in answer) throw new Error("expected the request to be refused, but it succeeded");
  return refusal(Promise.reject(answer.error instanceof ConnectError ? answer.error : ConnectError.from(answer.error)));
};

function send(c: RawCase): Promise<RawAnswer> {
  const defaults = c.protocol === "grpc" ? { "content-type": "application/grpc" } : { "content-type": "application/json" };
  const merged: Record<string, string | undefined> = { ...defaults, authorization: `Bearer ${admin.key}`, ...c.headers };
  const headers = Object.fromEntries(Object.entries(merged).filter((e): e is [string, string] => e[1] !== undefined));
  const post = c.protocol === "grpc" ? postGrpc : postConnect;
  return post(t.url, `email.v1.${c.method}`, c.body, headers);
}

describe.each(Object.keys(PROTOCOLS) as Protocol[])("typed over %s", (protocol) => {
  test.each(TYPED.map((c) => [c.name, c] as const))("%s", async (_name, c) => {
    const before = await db.take();
    check(await refusal(call(c.rpc, c.request, protocol)), c.expect);
    expect(await db.take()).toEqual(before);
  });
});

describe("raw", () => {
  test.each(RAW.map((c) => [`${c.protocol}: ${c.name}`, c] as const))("%s", async (_name, c) => {
    const before = await db.take();
    check(await asRefusal(await send(c)), c.expect);
    expect(await db.take()).toEqual(before);
  });
});

test("afterwards nothing was written, and the server is healthy and still serves", async () => {
  expect(await db.take()).toEqual(baseline);
  const health: Client<typeof Health> = createClient(Health, createGrpcTransport({ baseUrl: t.url }));
  expect((await health.check({})).status).toBe(Serving.SERVING);
  const res = await keyedClient(EmailService, t.url, admin.key).send({
    accountId: 1,
    to: ["bob@example.com"],
    subject: "after",
    bodyText: "x",
  });
  expect(res.outbox?.outboxId).toBeGreaterThan(0n);
});
