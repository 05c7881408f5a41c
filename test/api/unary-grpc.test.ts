// Unary calls over plain gRPC are served by the framed path (unary-grpc.ts), a compressed one by
// connect's router: both keep one contract — the same answers, refusals, deadline rule and
// metrics as every other protocol.
import { Code, createClient } from "@connectrpc/connect";
import { compressionGzip, createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, expect, test } from "vitest";
import { EmailService } from "../../gen/email/v1/email_service_pb.js";
import { emailClient } from "../helpers/clients.js";
import { sinkAccount, startTestApp, type TestApp } from "../helpers/app.js";
import { refusal } from "../helpers/refusal.js";
import { startSmtpSink, type SmtpSink } from "../helpers/smtp-sink.js";
import { scrape, total } from "../ops/scrape.js";

let sink: SmtpSink;
let t: TestApp;

beforeAll(async () => {
  sink = await startSmtpSink();
  t = await startTestApp({ label: "unary_grpc", json: { accounts: [sinkAccount(1, sink.port)] } });
});
afterAll(async () => {
  await t?.close();
  await sink?.close();
});

const framed = () => createClient(EmailService, createGrpcTransport({ baseUrl: t.url }));
const routed = () => createClient(EmailService, createGrpcTransport({ baseUrl: t.url, sendCompression: compressionGzip }));
const bad = { accountId: 1, to: ["not an address"], subject: "s", bodyText: "b" };

test("the framed path answers plain gRPC, the router compressed gRPC and Connect, alike", async () => {
  const headers: string[][] = [];
  const ok = await framed().send(
    { accountId: 1, to: ["bob@example.com"], subject: "framed", bodyText: "b" },
    { onHeader: (h) => headers.push([...h.keys()]) },
  );
  const viaRouter = await routed().send({ accountId: 1, to: ["bob@example.com"], subject: "routed", bodyText: "b" });
  expect(viaRouter.outbox?.outboxId).toBe(ok.outbox!.outboxId + 1n);
  // The head connect-node writes for an uncompressed call: its content type (and the date).
  expect(headers).toEqual([["content-type", "date"]]);

  const answers = await Promise.all([refusal(framed().send(bad)), refusal(routed().send(bad)), refusal(emailClient(t.url).send(bad))]);
  expect(answers[0]).toMatchObject({ code: Code.InvalidArgument, reason: "ADDRESS_INVALID", fields: ["to[0]"] });
  expect(answers[1]).toEqual(answers[0]);
  expect(answers[2]).toEqual(answers[0]);
});

test("a deadline already spent is refused before any work, and every call is counted", async () => {
  const before = await scrape(t.url);
  const labels = { grpc_method: "GetOutbox", grpc_type: "unary" };
  const late = await refusal(framed().getOutbox({ outboxId: 1n }, { timeoutMs: 1 }));
  expect(late.code).toBe(Code.DeadlineExceeded);
  expect((await framed().getOutbox({ outboxId: 1n })).outbox?.outboxId).toBe(1n);
  const after = await scrape(t.url);
  const delta = (code: string) =>
    total(after, "grpc_server_handled_total", { ...labels, grpc_code: code }) -
    total(before, "grpc_server_handled_total", { ...labels, grpc_code: code });
  expect(delta("OK")).toBe(1);
  expect(delta("DEADLINE_EXCEEDED")).toBe(1);
});
