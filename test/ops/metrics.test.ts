// GET /metrics after a known sequence of sends and failures: the counters, histograms and gauges
// say exactly what happened, with low-cardinality labels only.
import { afterAll, beforeAll, expect, test, vi } from "vitest";
import { Code, ConnectError } from "@connectrpc/connect";
import { FailureMode, OutboxStatus } from "../../gen/email/v1/outbox_pb.js";
import { emailClient, type EmailClient } from "../helpers/clients.js";
import { ManualClock } from "../helpers/clock.js";
import { sinkAccount, startTestApp, type TestApp } from "../helpers/app.js";
import { startSmtpSink, type SmtpSink } from "../helpers/smtp-sink.js";
import { watch } from "../helpers/watch.js";
import { has, scrape, total, type Sample } from "./scrape.js";

let sinks: SmtpSink[];
let t: TestApp;
let client: EmailClient;

beforeAll(async () => {
  sinks = await Promise.all([
    startSmtpSink(),
    startSmtpSink({ script: (stage) => (stage === "rcptTo" ? { code: 550, message: "5.1.1 no such user" } : undefined) }),
    startSmtpSink({ script: (stage) => (stage === "mailFrom" ? { code: 451, message: "4.3.0 try again later" } : undefined) }),
  ]);
  t = await startTestApp({
    label: "ops_metrics",
    json: { accounts: sinks.map((s, i) => sinkAccount(i + 1, s.port)), allow_failure_mode: true },
  });
  client = emailClient(t.url);
});
afterAll(async () => {
  await t?.close();
  await Promise.all((sinks ?? []).map((s) => s.close()));
});

const send = (accountId: number, failureMode = FailureMode.UNSPECIFIED) =>
  client.send({ accountId, to: ["rcpt@example.com"], subject: "s", bodyText: "b", waitForAttempt: true, failureMode });

test("counters, histograms and gauges follow a known sequence of sends and failures", async () => {
  for (let i = 0; i < 3; i++) expect((await send(1)).outbox?.status).toBe(OutboxStatus.SENT);
  expect((await send(2)).outbox?.status).toBe(OutboxStatus.DEAD);
  expect((await send(3)).outbox?.status).toBe(OutboxStatus.FAILED);
  expect((await send(1, FailureMode.NETWORK)).outbox?.status).toBe(OutboxStatus.FAILED);
  const refused = await client.send({ accountId: 1, to: [], subject: "s", bodyText: "b" }).catch((e: unknown) => ConnectError.from(e));
  expect(refused).toBeInstanceOf(ConnectError);
  expect((refused as ConnectError).code).toBe(Code.InvalidArgument);

  const m = await scrape(t.url);
  expect(total(m, "email_outbox_sent_total", { account_id: "1" })).toBe(3);
  expect(has(m, "email_outbox_sent_total", { account_id: "2" })).toBe(false);
  expect(total(m, "email_outbox_dead_total", { account_id: "2", error_class: "SMTP_PERMANENT" })).toBe(1);
  expect(total(m, "email_outbox_failed_total", { account_id: "3", error_class: "SMTP_TRANSIENT" })).toBe(1);
  expect(total(m, "email_outbox_failed_total", { account_id: "1", error_class: "NETWORK" })).toBe(1);
  expect(total(m, "email_outbox_failed_total")).toBe(2);
  expect(total(m, "email_outbox_dead_total")).toBe(1);

  // Real SMTP attempts are timed (the simulated failure never reached a server); the buckets go
  // up to at least 120 s.
  expect(total(m, "email_outbox_attempt_duration_seconds_count", { account_id: "1", outcome: "sent" })).toBe(3);
  expect(total(m, "email_outbox_attempt_duration_seconds_count", { account_id: "2", outcome: "failed" })).toBe(1);
  expect(total(m, "email_outbox_attempt_duration_seconds_count")).toBe(5);
  expect(total(m, "email_outbox_attempt_duration_seconds_bucket", { account_id: "1", outcome: "sent", le: "120" })).toBe(3);
  expect(has(m, "email_outbox_attempt_duration_seconds_bucket", { le: "300" })).toBe(true);

  // Every row was claimed by a claim query (RetryOutbox was not used).
  expect(total(m, "email_outbox_claim_batch_size_sum")).toBeGreaterThanOrEqual(6);
  expect(total(m, "email_outbox_claim_batch_size_count")).toBeGreaterThanOrEqual(1);

  expect(depth(m)).toEqual({ pending: 0, sending: 0, sent: 3, failed: 2, dead: 1, cancelled: 0, suppressed: 0, expired: 0 });
  // The failed rows are due after their backoff: nothing is overdue.
  expect(total(m, "email_outbox_oldest_due_age_seconds")).toBe(0);
  expect(total(m, "email_outbox_database_up")).toBe(1);

  const send_ = { grpc_service: "email.v1.EmailService", grpc_method: "Send", grpc_type: "unary" };
  expect(total(m, "grpc_server_handled_total", { ...send_, grpc_code: "OK" })).toBe(6);
  expect(total(m, "grpc_server_handled_total", { ...send_, grpc_code: "INVALID_ARGUMENT" })).toBe(1);
  expect(total(m, "grpc_server_handling_seconds_count", send_)).toBe(7);
});

test("every attempt's log line names the row, account, attempt, Message-ID and error class", async () => {
  const lines = t.logs.filter((l) => l.msg === "sent" || l.msg === "attempt failed");
  expect(lines.filter((l) => l.msg === "sent")).toHaveLength(3);
  expect(lines.filter((l) => l.msg === "attempt failed")).toHaveLength(2);
  for (const l of lines) {
    expect(l).toMatchObject({ outbox_id: expect.any(Number), account_id: expect.any(Number), attempt: 1 });
    expect(l.message_id).toMatch(/^<outbox-\d+-0@/);
    if (l.msg === "attempt failed") expect(["SMTP_PERMANENT", "SMTP_TRANSIENT"]).toContain(l.error_class);
    // Addresses are redacted, even inside the server's reply.
    expect(JSON.stringify(l)).not.toContain("rcpt@example.com");
  }
});

test("open watch streams are a gauge read at scrape time", async () => {
  const before = total(await scrape(t.url), "email_outbox_watch_streams");
  const w = watch(t.url, "connect-node gRPC (HTTP/2)", { accountId: 1 });
  await vi.waitFor(async () => expect(total(await scrape(t.url), "email_outbox_watch_streams")).toBe(before + 1), {
    timeout: 10_000,
    interval: 50,
  });
  w.cancel();
  await w.ended;
  await vi.waitFor(async () => expect(total(await scrape(t.url), "email_outbox_watch_streams")).toBe(before), {
    timeout: 10_000,
    interval: 50,
  });
  // The stream that ended is counted by method and code.
  const m = await scrape(t.url);
  expect(total(m, "grpc_server_handled_total", { grpc_method: "WatchOutbox", grpc_type: "server_streaming" })).toBe(1);
});

test("labels stay low-cardinality: accounts, their configured relays, classes, statuses and RPC names only", async () => {
  const allowed = new Set([
    "account_id",
    "relay",
    "error_class",
    "outcome",
    "status",
    "result",
    "le",
    "grpc_service",
    "grpc_method",
    "grpc_type",
    "grpc_code",
  ]);
  for (const s of await scrape(t.url)) {
    if (!s.name.startsWith("email_outbox_") && !s.name.startsWith("grpc_server_")) continue;
    for (const label of Object.keys(s.labels)) expect(allowed, `${s.name} label ${label}`).toContain(label);
    expect(Object.values(s.labels).join(" ")).not.toContain("@");
  }
});

test("a second app in the same process has its own registry; the oldest due age follows its clock", async () => {
  const clock = new ManualClock(Date.parse("2030-01-01T00:00:00Z"));
  const other = await startTestApp({
    label: "ops_metrics_b",
    clock,
    background: false,
    json: { accounts: [sinkAccount(1, sinks[0]!.port)] },
  });
  try {
    await emailClient(other.url).send({ accountId: 1, to: ["rcpt@example.com"], subject: "s", bodyText: "b" });
    clock.advance(90_000);
    const m = await scrape(other.url);
    expect(depth(m)).toMatchObject({ pending: 1, sent: 0 });
    expect(total(m, "email_outbox_oldest_due_age_seconds")).toBe(90);
    expect(total(m, "email_outbox_sent_total")).toBe(0);
    // The first app's counters are untouched by the second app's existence.
    expect(total(await scrape(t.url), "email_outbox_sent_total", { account_id: "1" })).toBe(3);
  } finally {
    await other.close();
  }
});

function depth(m: Sample[]): Record<string, number> {
  return Object.fromEntries(m.filter((s) => s.name === "email_outbox_depth").map((s) => [s.labels.status!, s.value]));
}
