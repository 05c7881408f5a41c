// SIGHUP on the real process: a new account can send at once, an attempt under way and an open
// WatchOutbox stream live through the reload, and a file that does not validate changes nothing.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, test, vi } from "vitest";
import { Code, ConnectError } from "@connectrpc/connect";
import { OutboxEventKind } from "../../gen/email/v1/email_service_pb.js";
import { OutboxStatus } from "../../gen/email/v1/outbox_pb.js";
import { sinkAccount } from "../helpers/app.js";
import { emailClient, type EmailClient } from "../helpers/clients.js";
import { createTestDatabase, type TestDatabase } from "../helpers/db.js";
import { startServiceProcess, type ServiceProcess } from "../helpers/service-process.js";
import { startSmtpSink, type SmtpSink } from "../helpers/smtp-sink.js";
import { watch, type Watcher } from "../helpers/watch.js";
import { Gate } from "../delivery/harness.js";
import { has, scrape, total } from "./scrape.js";

let db: TestDatabase;
let sinks: SmtpSink[];
let proc: ServiceProcess;
let client: EmailClient;
let stream: Watcher;
const configFile = path.join(mkdtempSync(path.join(tmpdir(), "email-outbox-reload-")), "config.json");
const holdFirst = { arrived: new Gate(), release: new Gate() };

const writeConfig = (json: unknown) => writeFileSync(configFile, typeof json === "string" ? json : JSON.stringify(json));
const config = (accounts: unknown[]) => ({ accounts, sender: { poll_interval_ms: 200 } });

beforeAll(async () => {
  db = await createTestDatabase("ops_reload");
  let held = false;
  sinks = await Promise.all([
    // Holds the first message inside DATA until the test lets it go.
    startSmtpSink({
      script: async (stage) => {
        if (stage !== "data" || held) return undefined;
        held = true;
        holdFirst.arrived.open();
        await holdFirst.release.opened;
        return undefined;
      },
    }),
    startSmtpSink(),
  ]);
  writeConfig(config([sinkAccount(1, sinks[0]!.port)]));
  proc = await startServiceProcess({ databaseUrl: db.url, config: {}, env: { EMAIL_OUTBOX_CONFIG: configFile } });
  client = emailClient(proc.url);
  stream = watch(proc.url, "connect-node gRPC (HTTP/2)", {});
}, 60_000);
afterAll(async () => {
  holdFirst.release.open();
  stream?.cancel();
  if (proc) {
    proc.kill("SIGTERM");
    await proc.exited;
  }
  await Promise.all((sinks ?? []).map((s) => s.close()));
  await db?.drop();
});

const sendTo = (accountId: number, waitForAttempt = true) =>
  client.send({ accountId, to: ["rcpt@example.com"], subject: `to ${accountId}`, bodyText: "b", waitForAttempt });

/** Sends SIGHUP and waits for the log line that says how it went. */
async function hangUp(msg: string): Promise<Record<string, unknown>> {
  const before = proc.logs.length;
  proc.kill("SIGHUP");
  return vi.waitFor(
    () => {
      const line = proc.logs.slice(before).find((l) => l.msg === msg);
      if (!line) throw new Error(`no "${msg}" log line yet`);
      return line;
    },
    { timeout: 15_000, interval: 50 },
  );
}

test("SIGHUP adds an account that sends at once; the attempt under way and the open stream go on", async () => {
  const unknown = await sendTo(2).catch((e: unknown) => ConnectError.from(e));
  expect((unknown as ConnectError).code).toBe(Code.NotFound);

  const inFlight = Number((await sendTo(1, false)).outbox!.outboxId);
  await holdFirst.arrived.opened;

  // Account 1 changes its connection limit too, so its transport is replaced while in use.
  writeConfig(config([sinkAccount(1, sinks[0]!.port, { max_connections: 2 }), sinkAccount(2, sinks[1]!.port)]));
  expect(await hangUp("config reloaded")).toMatchObject({ accounts: [1, 2] });

  const res = await sendTo(2);
  expect(res.outbox?.status).toBe(OutboxStatus.SENT);
  expect(sinks[1]!.messages).toHaveLength(1);

  holdFirst.release.open();
  await vi.waitFor(
    async () => {
      expect((await client.getOutbox({ outboxId: BigInt(inFlight) })).outbox).toMatchObject({ status: OutboxStatus.SENT, retries: 0 });
    },
    { timeout: 15_000, interval: 50 },
  );
  expect(sinks[0]!.messages).toHaveLength(1);

  // The stream opened before the reload saw both rows go out.
  await stream.until((w) => w.events().filter((e) => e.kind === OutboxEventKind.SENT).length === 2);
  expect(
    new Set(
      stream
        .events()
        .filter((e) => e.kind === OutboxEventKind.SENT)
        .map((e) => e.outboxId),
    ),
  ).toEqual(new Set([inFlight, Number(res.outbox!.outboxId)]));
});

test("a file that does not validate is rejected with its reason and the running config stays", async () => {
  writeConfig(
    config([sinkAccount(1, sinks[0]!.port), { ...sinkAccount(3, sinks[1]!.port), smtp: { host: "127.0.0.1", port: 70000, tls: "none" } }]),
  );
  const rejected = await hangUp("config reload rejected; the current config stays");
  expect(rejected.reason).toBe("account 3: smtp port must be 1..65535");

  writeConfig("{ not json");
  expect((await hangUp("config reload rejected; the current config stays")).reason).toMatch(/is not valid JSON/);

  // Accounts 1 and 2 still send; account 3 never came.
  expect((await sendTo(1)).outbox?.status).toBe(OutboxStatus.SENT);
  expect((await sendTo(2)).outbox?.status).toBe(OutboxStatus.SENT);
  expect(((await sendTo(3).catch((e: unknown) => e)) as ConnectError).code).toBe(Code.NotFound);
  expect(proc.child.exitCode).toBeNull();

  const m = await scrape(proc.url);
  expect(total(m, "email_outbox_config_reloads_total", { result: "applied" })).toBe(1);
  expect(total(m, "email_outbox_config_reloads_total", { result: "rejected" })).toBe(2);
  // The process (unlike an app inside a test) also exports process metrics.
  expect(has(m, "process_cpu_user_seconds_total")).toBe(true);
});
