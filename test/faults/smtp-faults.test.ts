// SMTP faults, scripted in real SMTP servers, one account each on one service process: every
// attempt ends in the state its failure calls for, and none is left SENDING past its lease.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { sinkAccount } from "../helpers/app.js";
import { emailClient, type EmailClient } from "../helpers/clients.js";
import { createTestDatabase, type TestDatabase } from "../helpers/db.js";
import { startServiceProcess, type ServiceProcess } from "../helpers/service-process.js";
import { startSmtpSink, type SinkOptions, type SmtpSink } from "../helpers/smtp-sink.js";
import { backoffMs } from "../../src/delivery/backoff.js";
import { DOMAIN, gate, holdingServer, KIND, OutboxReader, outboxIdOf, serviceConfig, until, type EventRow } from "./kit.js";

const LEASE_MS = 5_000;
/** Small SMTP timeouts: a silent server gives up the sender long before the lease expires. */
const TIMEOUTS = { connection_timeout_ms: 1_000, greeting_timeout_ms: 1_000, socket_timeout_ms: 2_000 };

/** Lets the first attempt's DATA reply wait until a second attempt of the same row arrives. */
function outlastTheLease(): SinkOptions["script"] {
  const second = gate();
  let calls = 0;
  return holdingServer(async () => {
    if (++calls === 1) return second.opened;
    second.open();
  }).script;
}

const SERVERS = {
  greeting421: { script: (stage) => (stage === "connect" ? { code: 421, message: "4.3.2 Service not available, try later" } : undefined) },
  data451: { script: (stage) => (stage === "data" ? { code: 451, message: "4.3.0 Temporary failure after DATA" } : undefined) },
  rcpt550: { script: (stage) => (stage === "rcptTo" ? { code: 550, message: "5.1.1 No such user" } : undefined) },
  resetInData: { fault: "reset-in-data" },
  silent: { fault: "silent" },
  healthy: {},
  slowerThanLease: { script: outlastTheLease() },
} satisfies Record<string, SinkOptions>;
type Server = keyof typeof SERVERS;
const NAMES = Object.keys(SERVERS) as Server[];

let db: TestDatabase;
let reader: OutboxReader;
let service: ServiceProcess;
let client: EmailClient;
const sinks = {} as Record<Server, SmtpSink>;
/** Outbox id of the one message sent through each server. */
const ids = {} as Record<Server, number>;
let claims: Map<number, EventRow>;
let ends: Map<number, EventRow>;

beforeAll(async () => {
  db = await createTestDatabase("fault_smtp");
  reader = OutboxReader.open(db.url);
  for (const name of NAMES) sinks[name] = await startSmtpSink(SERVERS[name]);
  // The one account whose socket timeout outlasts the lease (a misconfiguration) shows what a lease
  // protects against: an attempt that stalls after the server accepted the message.
  const accounts = NAMES.map((name, i) =>
    sinkAccount(i + 1, sinks[name].port, name === "slowerThanLease" ? { socket_timeout_ms: 60_000 } : TIMEOUTS),
  );
  service = await startServiceProcess({ databaseUrl: db.url, config: serviceConfig(accounts, { lease_ms: LEASE_MS }) });
  client = emailClient(service.url);
  for (const [i, name] of NAMES.entries()) {
    const res = await client.send({ accountId: i + 1, to: ["bob@example.com"], subject: name, bodyText: "fault" });
    ids[name] = Number(res.outbox!.outboxId);
  }
  // Every attempt has ended once nothing is SENDING and every row has an outcome.
  await until(
    async () => {
      const counts = await reader.statusCounts();
      expect(counts.pending ?? 0).toBe(0);
      expect(counts.sending ?? 0).toBe(0);
    },
    60_000,
    200,
  );
  const events = await reader.events([KIND.sending, KIND.sent, KIND.failed, KIND.dead]);
  claims = new Map(events.filter((e) => e.kind === KIND.sending).map((e) => [e.outbox_id, e]));
  ends = new Map(events.filter((e) => e.kind !== KIND.sending).map((e) => [e.outbox_id, e]));
}, 120_000);

afterAll(async () => {
  service?.kill("SIGKILL");
  await service?.exited;
  await reader?.close();
  await Promise.all(Object.values(sinks).map((s) => s.close()));
  await db?.drop();
});

describe("each SMTP fault ends in its state", () => {
  test.each([
    ["greeting421", "SMTP_TRANSIENT"],
    ["data451", "SMTP_TRANSIENT"],
    ["resetInData", "NETWORK"],
    ["silent", "TIMEOUT"],
  ] as const)("%s: FAILED (%s), one attempt counted, retried after the backoff", async (name, errorClass) => {
    const row = await reader.row(ids[name]);
    expect(row).toMatchObject({ status: "failed", retries: 1, last_error_class: errorClass, lease_expires_at: null });
    // next_attempt_at = (decision time) + 10 s, and the decision fell between claim and commit.
    const claim = claims.get(row.id)!;
    const end = ends.get(row.id)!;
    expect(row.next_attempt_at).toBeGreaterThanOrEqual(claim.created_at + backoffMs(1));
    expect(row.next_attempt_at).toBeLessThanOrEqual(end.created_at + backoffMs(1));
    expect(sinks[name].messages).toHaveLength(0);
  });

  test("rcpt550: DEAD at once (a 5xx is permanent), nothing delivered", async () => {
    const row = await reader.row(ids.rcpt550);
    expect(row).toMatchObject({ status: "dead", retries: 1, last_error_class: "SMTP_PERMANENT", next_attempt_at: null });
    expect(sinks.rcpt550.messages).toHaveLength(0);
  });

  test("no attempt outlived its lease, and the silent server's attempt was cut by its timeouts", () => {
    for (const name of NAMES.filter((n) => n !== "slowerThanLease")) {
      const claim = claims.get(ids[name])!;
      const end = ends.get(ids[name])!;
      expect(end.created_at - claim.created_at, name).toBeLessThan(LEASE_MS);
    }
    expect(sinks.silent.connections).toBeGreaterThan(0);
  });

  test("a healthy account is not held up by the failing ones", async () => {
    expect(await reader.row(ids.healthy)).toMatchObject({ status: "sent", retries: 0 });
    expect(sinks.healthy.messages.map(outboxIdOf)).toEqual([ids.healthy]);
  });
});

test("an attempt slower than its lease is rescued and sent again with the same Message-ID; the stale outcome is discarded", async () => {
  const id = ids.slowerThanLease;
  const copies = sinks.slowerThanLease.messages;
  expect(copies.map(outboxIdOf)).toEqual([id, id]);
  expect(copies.map((m) => m.messageId)).toEqual([`<outbox-${id}-0@${DOMAIN}>`, `<outbox-${id}-0@${DOMAIN}>`]);
  expect(await reader.row(id)).toMatchObject({ status: "sent", retries: 0, message_id: `<outbox-${id}-0@${DOMAIN}>` });
  const kinds = (await reader.events()).filter((e) => e.outbox_id === id).map((e) => e.kind);
  expect(kinds.filter((k) => k === KIND.leaseRescued)).toHaveLength(1);
  expect(kinds.filter((k) => k === KIND.sent)).toHaveLength(1);
  await until(
    () => expect(service.logs.some((l) => l.msg === "lease lost before finalize; outcome discarded" && l.outbox_id === id)).toBe(true),
    10_000,
  );
});
