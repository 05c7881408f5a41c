// The TypeScript client (src/index.ts, the source of clients/typescript), against the real
// service over every protocol it offers: it sends the API key, waits for the outcome with
// WatchOutbox, and reads error reasons. package.test.ts installs the packed package.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  Code,
  ConnectError,
  createEmailClient,
  createEmailTransport,
  errorInfo,
  errorReason,
  fieldViolations,
  FailureMode,
  oneClickUnsubscribe,
  OutboxStatus,
  TemplateService,
  waitForOutcome,
  type EmailClientOptions,
} from "../../src/index.js";
import { createClient } from "@connectrpc/connect";
import { DOMAIN, startClientFixture, type ClientFixture } from "./fixture.js";

let f: ClientFixture;
beforeAll(async () => {
  f = await startClientFixture("ts_client");
});
afterAll(() => f?.close());

const VARIANTS: Pick<EmailClientOptions, "protocol" | "httpVersion">[] = [
  { protocol: "grpc", httpVersion: "2" },
  { protocol: "grpc-web", httpVersion: "1.1" },
  { protocol: "grpc-web", httpVersion: "2" },
  { protocol: "connect", httpVersion: "1.1" },
  { protocol: "connect", httpVersion: "2" },
];

describe.each(VARIANTS)("$protocol over HTTP/$httpVersion", (variant) => {
  const client = () => createEmailClient({ baseUrl: f.t.url, apiKey: f.apiKey, ...variant });

  test("Send, then waitForOutcome follows the row to SENT and the SMTP server has it", async () => {
    const subject = `typed client ${variant.protocol} ${variant.httpVersion ?? "2"}`;
    const res = await client().send({ accountId: 1, to: ["Bob <bob@example.com>"], subject, bodyText: "hello" });
    const id = res.outbox!.outboxId;
    const outcome = await waitForOutcome(client(), id, { signal: AbortSignal.timeout(20_000) });
    expect(outcome).toMatchObject({ outboxId: id, status: OutboxStatus.SENT, messageId: `<outbox-${id}-0@${DOMAIN}>` });
    expect(f.received(outcome.messageId)?.parsed.subject).toBe(subject);
  });

  test("errorReason reads the ErrorInfo of an INVALID_ARGUMENT, fieldViolations its BadRequest", async () => {
    const err = await client()
      .send({ accountId: 1, to: ["not an address"], subject: "x", bodyText: "y" })
      .catch((e: unknown) => e);
    expect(ConnectError.from(err).code).toBe(Code.InvalidArgument);
    expect(errorReason(err)).toBe("ADDRESS_INVALID");
    expect(fieldViolations(err).map((v) => v.field)).toEqual(["to[0]"]);
  });
});

test("a template saved with TemplateService is rendered into a Send with its own data", async () => {
  const templates = createClient(TemplateService, createEmailTransport({ baseUrl: f.t.url, apiKey: f.apiKey }));
  await templates.createTemplate({
    accountId: 1,
    name: "ts-welcome",
    content: { subject: "Welcome, {{name}}", html: "<p>Hello {{name}} ({{plan}})</p>" },
  });
  const client = createEmailClient({ baseUrl: f.t.url, apiKey: f.apiKey });
  const { outbox } = await client.send({
    accountId: 1,
    to: ["bob@example.com"],
    template: { name: "ts-welcome", data: { name: "Bob", plan: "pro" } },
  });
  expect(outbox).toMatchObject({ subject: "Welcome, Bob", templateName: "ts-welcome", templateVersion: 1 });
  const outcome = await waitForOutcome(client, outbox!.outboxId, { signal: AbortSignal.timeout(20_000) });
  const parsed = f.received(outcome.messageId)!.parsed;
  expect([parsed.html, parsed.text]).toEqual(["<p>Hello Bob (pro)</p>", "Hello Bob (pro)"]);
  const err = await client
    .send({ accountId: 1, to: ["bob@example.com"], template: { name: "ts-welcome", data: { name: "Bob" } } })
    .catch((e: unknown) => e);
  expect([errorReason(err), errorInfo(err)?.metadata.path]).toEqual(["TEMPLATE_DATA_MISSING", "plan"]);
});

test("without the API key the call is refused with reason API_KEY_MISSING", async () => {
  const err = await createEmailClient({ baseUrl: f.t.url })
    .listOutbox({})
    .catch((e: unknown) => e);
  expect(ConnectError.from(err).code).toBe(Code.Unauthenticated);
  expect(errorReason(err)).toBe("API_KEY_MISSING");
});

test("waitForOutcome with until FAILED sees a failed attempt; RetryOutbox then re-drives it to SENT", async () => {
  const client = createEmailClient({ baseUrl: f.t.url, apiKey: f.apiKey });
  const { outbox } = await client.send({
    accountId: 1,
    to: ["bob@example.com"],
    subject: "fails first",
    bodyText: "x",
    failureMode: FailureMode.NETWORK,
  });
  const failed = await waitForOutcome(client, outbox!.outboxId, { until: [OutboxStatus.FAILED], signal: AbortSignal.timeout(20_000) });
  expect(failed).toMatchObject({ status: OutboxStatus.FAILED, retries: 1, error: "simulated network timeout" });
  const early = await client.retryOutbox({ outboxId: outbox!.outboxId }).catch((e: unknown) => e);
  expect(errorReason(early)).toBe("RETRY_NOT_DUE");
  const retried = await client.retryOutbox({ outboxId: outbox!.outboxId, force: true });
  expect(retried.outbox).toMatchObject({ status: OutboxStatus.SENT, messageId: `<outbox-${outbox!.outboxId}-1@${DOMAIN}>` });
});

test("oneClickUnsubscribe headers and tags: sent with the message, tags and metadata returned but not sent", async () => {
  const client = createEmailClient({ baseUrl: f.t.url, apiKey: f.apiKey });
  const headers = oneClickUnsubscribe("https://example.com/u/7", "u@example.com");
  const { outbox } = await client.send({
    accountId: 1,
    to: ["bob@example.com"],
    subject: "unsubscribable",
    bodyText: "x",
    headers,
    tags: { campaign: "c7" },
    metadata: { user: "7" },
  });
  const outcome = await waitForOutcome(client, outbox!.outboxId, { signal: AbortSignal.timeout(20_000) });
  expect(outcome).toMatchObject({ status: OutboxStatus.SENT, tags: { campaign: "c7" }, metadata: { user: "7" } });
  const received = f.received(outcome.messageId)!;
  expect(received.headers.get("list-unsubscribe")).toEqual(["<https://example.com/u/7>, <mailto:u@example.com>"]);
  expect(received.headers.get("list-unsubscribe-post")).toEqual(["List-Unsubscribe=One-Click"]);
  expect(received.raw.toString()).not.toContain("c7");
  expect(() => oneClickUnsubscribe("http://example.com/u")).toThrow(/https/);
});

test("gRPC over HTTP/1.1 is refused when the client is made, not at the first call", () => {
  expect(() => createEmailClient({ baseUrl: f.t.url, protocol: "grpc", httpVersion: "1.1" })).toThrow(/HTTP\/2/);
});
