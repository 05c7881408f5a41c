// Relay failover across a crash: an account with two relays whose primary first refuses the
// connection, then answers 421, then goes down again mid-load, while the sending service is
// SIGKILLed and restarted. Every message reaches the backup, each with its one Message-ID; the
// primary's breaker opens (metrics, /readyz, the shared table) and, once the primary is back and
// the cool-down has passed, one trial attempt closes it.
import { afterAll, beforeAll, expect, test } from "vitest";
import mysql from "mysql2/promise";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { emailClient } from "../helpers/clients.js";
import type { ServiceProcess } from "../helpers/service-process.js";
import { startSmtpSink, type SmtpSink } from "../helpers/smtp-sink.js";
import { byOutboxId, DOMAIN, KIND, openRig, sendMany, sentLogIds, serviceConfig, slowServer, until, type Rig } from "./kit.js";
import { TcpProxy } from "./tcp-proxy.js";

const MESSAGES = 400;
const COOL_DOWN_MS = 1_500;

let rig: Rig;
let primary: SmtpSink;
let proxy: TcpProxy;
let api: TestApp | undefined;
let db: mysql.Pool;

beforeAll(async () => {
  // The rig's sink is the backup: slow enough (about 10 s for the load) that the load outlasts
  // the breaker's cool-down, a trial, a kill and a restart.
  rig = await openRig("fault_relays", { script: slowServer(80, 160) });
  primary = await startSmtpSink();
  proxy = await TcpProxy.start("127.0.0.1", primary.port);
  db = mysql.createPool({ uri: rig.db.url, connectionLimit: 2 });
});
afterAll(async () => {
  await api?.close();
  await proxy?.close();
  await primary?.close();
  await db?.end();
  await rig?.close();
});

const relay = (name: string, port: number) => ({
  name,
  smtp: { host: "127.0.0.1", port, tls: "none", connection_timeout_ms: 1_000, greeting_timeout_ms: 1_000, max_connections: 4 },
});

interface Breaker {
  failures: number;
  open_until: number | null;
}
async function breaker(): Promise<Breaker | undefined> {
  const [rows] = await db.query("SELECT failures, open_until FROM relay_breaker WHERE account_id = 1 AND relay = 'primary'");
  const row = (rows as Breaker[])[0];
  return row && { failures: Number(row.failures), open_until: row.open_until === null ? null : Number(row.open_until) };
}

async function scrape(service: ServiceProcess): Promise<string> {
  return (await fetch(`${service.url}/metrics`)).text();
}
const OPEN_SERIES = /^email_outbox_relay_breaker_open\{account_id="1",relay="primary"\} (\d)$/m;

test("a primary that refuses, answers 421 and goes down mid-load, across a SIGKILL: every message goes out once through the backup", async () => {
  const { sink: backup } = rig;
  const config = {
    ...serviceConfig([], { lease_ms: 3_000, batch_size: 16, max_in_flight: 16, poll_interval_ms: 200 }),
    accounts: [
      {
        id: 1,
        from: "Ops <ops@example.com>",
        relays: [relay("primary", proxy.port), relay("backup", backup.port)],
        relay_breaker: { failures: 3, cool_down_ms: COOL_DOWN_MS },
      },
    ],
  };
  // 1. The primary refuses connections.
  await proxy.cut();
  api = await startTestApp({ db: rig.db, json: config, background: false });
  const enqueued = sendMany(emailClient(api.url), MESSAGES);
  enqueued.catch(() => undefined);
  const first = await rig.start(config);

  // The breaker opens after three refusals: the fleet's table, the metrics and /readyz say so.
  await until(async () => expect((await breaker())?.open_until).not.toBeNull(), 30_000);
  await until(async () => expect(OPEN_SERIES.exec(await scrape(first))?.[1]).toBe("1"), 10_000);
  const ready = (await (await fetch(`${first.url}/readyz`)).json()) as { status: string; relay_breakers?: unknown[] };
  expect(ready.status).toBe("ready");
  expect(ready.relay_breakers).toEqual([expect.objectContaining({ account_id: 1, relay: "primary" })]);

  // 2. The primary is up again but answers 421 at the greeting: its trial attempts fail.
  primary.script = (stage) => (stage === "connect" ? { code: 421, message: "4.3.2 Service not available" } : undefined);
  await proxy.restore();
  await until(() => expect(primary.connections).toBeGreaterThan(0), 30_000);

  // 3. SIGKILL mid-load; the next instance goes on with each row where it stood.
  await until(() => expect(sentLogIds(first).length).toBeGreaterThanOrEqual(60), 60_000);
  first.kill("SIGKILL");
  expect(await first.exited).toBe("SIGKILL");
  const second = await rig.start(config);

  // 4. The primary goes down again while the rest goes out.
  await until(() => expect(sentLogIds(second).length).toBeGreaterThanOrEqual(20), 60_000);
  await proxy.cut();
  const ids = await enqueued;
  await until(async () => expect(await rig.reader.statusCounts()).toEqual({ sent: MESSAGES }), 120_000, 250);

  // Every message reached the backup with its row's one Message-ID (a receiver keeps one copy of
  // each); only a message in flight at the kill may have arrived twice, with the same Message-ID.
  expect(primary.messages).toEqual([]);
  const received = byOutboxId(backup.messages);
  expect([...received.keys()].sort((a, b) => a - b)).toEqual([...ids].sort((a, b) => a - b));
  for (const [id, copies] of received) {
    expect(new Set(copies.map((c) => c.messageId)), `outbox ${id}`).toEqual(new Set([`<outbox-${id}-0@${DOMAIN}>`]));
  }
  const repeated = [...received.values()].filter((copies) => copies.length > 1).length;
  expect(repeated).toBeLessThanOrEqual(16);
  const [rows] = await db.query("SELECT relay, retries, COUNT(*) AS n FROM outbox GROUP BY relay, retries");
  expect((rows as { relay: string; retries: number; n: number }[]).map((r) => [r.relay, r.retries, Number(r.n)])).toEqual([
    ["backup", 0, MESSAGES],
  ]);
  // The primary's failures are on the events: each a RELAY_FAILED naming it. The kill left rows
  // leased: they were rescued, and went on to the relay their row named.
  const [failed] = await db.query("SELECT DISTINCT relay FROM outbox_event WHERE kind = 20");
  expect(failed).toEqual([{ relay: "primary" }]);
  const rescued = await rig.reader.events([KIND.leaseRescued]);
  expect(rescued.length).toBeGreaterThan(0);

  // 5. The primary is back and healthy: after the cool-down one trial attempt closes the breaker.
  primary.script = undefined;
  await proxy.restore();
  await api.close();
  api = undefined;
  const client = emailClient(second.url);
  const trial = await until(
    async () => {
      const { outbox } = await client.send({
        accountId: 1,
        to: ["trial@example.com"],
        subject: "trial",
        bodyText: "b",
        waitForAttempt: true,
      });
      expect(outbox?.relay).toBe("primary");
      return outbox!;
    },
    30_000,
    250,
  );
  expect(primary.messages.map((m) => m.messageId)).toContain(`<outbox-${trial.outboxId}-0@${DOMAIN}>`);
  await until(async () => expect(await breaker()).toEqual({ failures: 0, open_until: null }), 10_000);
  await until(async () => expect(OPEN_SERIES.exec(await scrape(second))?.[1]).toBe("0"), 10_000);
  expect(await (await fetch(`${second.url}/readyz`)).json()).toEqual({ status: "ready" });
});
