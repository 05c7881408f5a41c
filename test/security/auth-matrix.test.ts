// Every RPC × {no key, bad key, wrong account, wrong scope, good key}, over gRPC and Connect JSON.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, type Client } from "@connectrpc/connect";
import { EmailService } from "../../gen/email/v1/email_service_pb.js";
import { MailboxService } from "../../gen/email/v1/mailbox_service_pb.js";
import { OutboxStatus } from "../../gen/email/v1/outbox_pb.js";
import { Health, HealthCheckResponse_ServingStatus as Serving } from "../../gen/grpc/health/v1/health_pb.js";
import { ServerReflection } from "../../gen/grpc/reflection/v1/reflection_pb.js";
import { generateKey } from "../../src/api/auth/keys.js";
import { batchError } from "../../src/client/errors.js";
import { SCOPES, type Scope } from "../../src/api/auth/scopes.js";
import { sinkAccount, startTestApp, type TestApp } from "../helpers/app.js";
import { refusal } from "../helpers/refusal.js";
import { startSmtpSink, type SmtpSink } from "../helpers/smtp-sink.js";
import { keyedClient, PROTOCOLS, testKey, type Protocol } from "./keys.js";

const admin = testKey("admin", "*");
const good = testKey("good", [1]);
const otherAccount = testKey("other-account", [2]);
const lacking = new Map(
  SCOPES.map((s) => [
    s,
    testKey(
      `no-${s}`,
      [1],
      SCOPES.filter((x) => x !== s),
    ),
  ]),
);

let sink: SmtpSink;
let t: TestApp;
let parentMessageId: string;
let ingestedMessageId: string;

beforeAll(async () => {
  sink = await startSmtpSink();
  t = await startTestApp({
    label: "auth_matrix",
    json: {
      accounts: [sinkAccount(1, sink.port), sinkAccount(2, sink.port)],
      api_keys: [admin, good, otherAccount, ...lacking.values()].map((k) => k.entry),
    },
  });
  const sent = await emailAs(admin.key).send({
    accountId: 1,
    to: ["bob@example.com"],
    subject: "parent",
    bodyText: "x",
    waitForAttempt: true,
  });
  expect(sent.outbox?.status).toBe(OutboxStatus.SENT);
  parentMessageId = sent.outbox!.messageId;
  ingestedMessageId = (await mailboxAs(admin.key).ingestMessage({ accountId: 1, raw: inbound() })).message!.messageId;
});
afterAll(async () => {
  await t?.close();
  await sink?.close();
});

const emailAs = (key: string | undefined, protocol: Protocol = "gRPC") => keyedClient(EmailService, t.url, key, protocol);
const mailboxAs = (key: string | undefined, protocol: Protocol = "gRPC") => keyedClient(MailboxService, t.url, key, protocol);

function inbound(): Uint8Array {
  return Buffer.from(
    `From: Carol <carol@example.org>\r\nTo: sender1@example.com\r\nSubject: hi\r\nMessage-ID: <${randomUUID()}@example.org>\r\n\r\nhello\r\n`,
  );
}

/** A row of account 1 that stays PENDING (scheduled an hour ahead), for Retry, Cancel and Get. */
async function scheduledRow(): Promise<bigint> {
  const res = await emailAs(admin.key).send({
    accountId: 1,
    to: ["bob@example.com"],
    subject: "later",
    bodyText: "x",
    sendAt: timestampFromMs(Date.now() + 3600_000),
  });
  return res.outbox!.outboxId;
}

interface Clients {
  email: Client<typeof EmailService>;
  mailbox: Client<typeof MailboxService>;
}

interface Rpc {
  name: string;
  scope: Scope;
  call(c: Clients): Promise<unknown>;
  /** Naming an account is PERMISSION_DENIED; another account's row is NOT_FOUND (not revealed). */
  otherAccount: [Code, string];
}

const DENIED: [Code, string] = [Code.PermissionDenied, "ACCOUNT_NOT_ALLOWED"];
const HIDDEN: [Code, string] = [Code.NotFound, "OUTBOX_NOT_FOUND"];

const RPCS: Rpc[] = [
  {
    name: "Send",
    scope: "send",
    otherAccount: DENIED,
    call: (c) => c.email.send({ accountId: 1, to: ["bob@example.com"], subject: "s", bodyText: "b" }),
  },
  // Per-message refusals come back as results: the first one is thrown as Send would throw it.
  {
    name: "SendBatch",
    scope: "send",
    otherAccount: DENIED,
    call: async (c) => {
      const res = await c.email.sendBatch({ messages: [{ accountId: 1, to: ["bob@example.com"], subject: "s", bodyText: "b" }] });
      const err = batchError(res.results[0]!);
      if (err) throw err;
      return res;
    },
  },
  {
    name: "Reply",
    scope: "reply",
    otherAccount: DENIED,
    call: (c) => c.email.reply({ accountId: 1, inReplyToMessageId: parentMessageId, bodyText: "b" }),
  },
  {
    name: "RetryOutbox",
    scope: "retry",
    otherAccount: HIDDEN,
    call: async (c) => c.email.retryOutbox({ outboxId: await scheduledRow(), force: true }),
  },
  {
    name: "CancelOutbox",
    scope: "cancel",
    otherAccount: HIDDEN,
    call: async (c) => c.email.cancelOutbox({ outboxId: await scheduledRow() }),
  },
  { name: "GetOutbox", scope: "read", otherAccount: HIDDEN, call: async (c) => c.email.getOutbox({ outboxId: await scheduledRow() }) },
  {
    name: "GetOutboxMessage",
    scope: "read",
    otherAccount: HIDDEN,
    call: async (c) => c.email.getOutboxMessage({ outboxId: await scheduledRow() }),
  },
  { name: "GetOutboxActivity", scope: "read", otherAccount: DENIED, call: (c) => c.email.getOutboxActivity({ accountId: 1 }) },
  { name: "ListOutbox", scope: "read", otherAccount: DENIED, call: (c) => c.email.listOutbox({ accountId: 1 }) },
  {
    name: "WatchOutbox",
    scope: "watch",
    otherAccount: DENIED,
    call: async (c) => {
      for await (const item of c.email.watchOutbox({ accountId: 1, includeCurrent: true })) return item;
    },
  },
  { name: "IngestMessage", scope: "ingest", otherAccount: DENIED, call: (c) => c.mailbox.ingestMessage({ accountId: 1, raw: inbound() }) },
  {
    name: "GetMessage",
    scope: "read",
    otherAccount: DENIED,
    call: (c) => c.mailbox.getMessage({ accountId: 1, messageId: ingestedMessageId }),
  },
  { name: "ListMessages", scope: "read", otherAccount: DENIED, call: (c) => c.mailbox.listMessages({ accountId: 1 }) },
  { name: "ListSuppressions", scope: "read", otherAccount: DENIED, call: (c) => c.mailbox.listSuppressions({ accountId: 1 }) },
  {
    name: "AddSuppression",
    scope: "suppress",
    otherAccount: DENIED,
    call: (c) => c.mailbox.addSuppression({ accountId: 1, address: "matrix@example.org" }),
  },
  {
    name: "RemoveSuppression",
    scope: "suppress",
    otherAccount: DENIED,
    call: async (c) => {
      // Listed first, so that each caller that may remove it finds it.
      await c.mailbox.addSuppression({ accountId: 1, address: "matrix-remove@example.org" }).catch(() => undefined);
      return c.mailbox.removeSuppression({ accountId: 1, address: "matrix-remove@example.org" });
    },
  },
];

test("health and reflection answer without a key", async () => {
  expect((await keyedClient(Health, t.url, undefined).check({})).status).toBe(Serving.SERVING);
  const reflection = keyedClient(ServerReflection, t.url, undefined);
  async function* ask() {
    yield { host: "", messageRequest: { case: "listServices" as const, value: "" } };
  }
  const services: string[] = [];
  for await (const res of reflection.serverReflectionInfo(ask())) {
    if (res.messageResponse.case === "listServicesResponse") services.push(...res.messageResponse.value.service.map((s) => s.name));
  }
  expect(services).toEqual(expect.arrayContaining(["email.v1.EmailService", "email.v1.MailboxService"]));
});

test("every RPC of both services is in the matrix", () => {
  const names = [...EmailService.methods, ...MailboxService.methods].map((m) => m.name).sort();
  expect(RPCS.map((r) => r.name).sort()).toEqual(names);
});

describe.each(Object.keys(PROTOCOLS) as Protocol[])("%s", (protocol) => {
  const clients = (key: string | undefined): Clients => ({ email: emailAs(key, protocol), mailbox: mailboxAs(key, protocol) });

  describe.each(RPCS)("$name", (rpc) => {
    test("no key → UNAUTHENTICATED API_KEY_MISSING", async () => {
      expect(await refusal(rpc.call(clients(undefined)))).toMatchObject({ code: Code.Unauthenticated, reason: "API_KEY_MISSING" });
    });

    test("unknown key → UNAUTHENTICATED API_KEY_INVALID", async () => {
      expect(await refusal(rpc.call(clients(generateKey())))).toMatchObject({ code: Code.Unauthenticated, reason: "API_KEY_INVALID" });
    });

    test("key of another account → refused", async () => {
      const [code, reason] = rpc.otherAccount;
      expect(await refusal(rpc.call(clients(otherAccount.key)))).toMatchObject({ code, reason });
    });

    test("key without the scope → PERMISSION_DENIED SCOPE_NOT_ALLOWED", async () => {
      const r = await refusal(rpc.call(clients(lacking.get(rpc.scope)!.key)));
      expect(r).toMatchObject({ code: Code.PermissionDenied, reason: "SCOPE_NOT_ALLOWED", metadata: { scope: rpc.scope } });
    });

    test("good key → served", async () => {
      await expect(rpc.call(clients(good.key))).resolves.toBeDefined();
    });
  });
});
