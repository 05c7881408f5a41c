// A MariaDB Galera cluster of 3 nodes behind HAProxy (active/backup), two service instances on
// it, 2,000 messages sent with 32 in flight, and the writer node SIGKILLed in the middle. Nothing
// acknowledged is lost or sent twice with another Message-ID; event ids stay gapless and ordered
// for a WatchOutbox client that resumes with after_event_id; webhooks deliver every event, a
// repeat only with the same webhook-id; at most one instance runs maintenance at any moment; the
// instances recover without a restart.
import { setTimeout as delay } from "node:timers/promises";
import mysql from "mysql2/promise";
import { afterAll, beforeAll, expect, test } from "vitest";
import { sinkAccount } from "../helpers/app.js";
import { emailClient, type EmailClient } from "../helpers/clients.js";
import { startGaleraCluster, type GaleraCluster } from "../helpers/galera.js";
import { startServiceProcess, type ServiceProcess } from "../helpers/service-process.js";
import { startSmtpSink, type SmtpSink } from "../helpers/smtp-sink.js";
import { startReceiver, type Receiver } from "../helpers/webhook-receiver.js";
import { byOutboxId, serviceConfig, until, untilAllSent } from "../faults/kit.js";

const MESSAGES = 2_000;
const PARALLEL = 32;
const SECRET = `whsec_${Buffer.alloc(24, 7).toString("base64")}`;

let cluster: GaleraCluster;
let sink: SmtpSink;
let receiver: Receiver;
let db: mysql.Pool;
const services: ServiceProcess[] = [];

beforeAll(async () => {
  cluster = await startGaleraCluster(3);
  sink = await startSmtpSink();
  receiver = await startReceiver();
}, 240_000);
afterAll(async () => {
  for (const s of services) s.kill("SIGKILL");
  await Promise.all(services.map((s) => s.exited));
  await db?.end();
  await receiver?.close();
  await sink?.close();
  await cluster?.close();
});

/** When each acknowledged Send was started and answered. */
const acks: { started: number; answered: number }[] = [];

/** Sends message i until the service acknowledges it; the idempotency key makes a repeat safe. */
async function sendAcknowledged(clients: EmailClient[], i: number): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    const started = Date.now();
    try {
      const res = await clients[attempt % clients.length]!.send({
        accountId: 1,
        to: [`rcpt${i}@example.com`],
        subject: `ha ${i}`,
        bodyText: `body ${i}`,
        idempotencyKey: `ha-${i}`,
      });
      acks.push({ started, answered: Date.now() });
      return Number(res.outbox!.outboxId);
    } catch {
      // The writer is gone: the service answers UNAVAILABLE until HAProxy sends it to the next node.
      await delay(50);
    }
  }
}

test("the writer node dies mid-load: every acknowledged message delivered once, events gapless, one maintenance holder", async () => {
  const databaseUrl = `${cluster.serverUrl}eo_ha`;
  const webhooks = [{ id: "ha", url: receiver.url, secret_env: "S", timeout_ms: 2_000, retry_initial_ms: 100 }];
  const config = {
    ...serviceConfig([{ ...sinkAccount(1, sink.port, { max_connections: 8 }), webhooks } as ReturnType<typeof sinkAccount>], {
      lease_ms: 3_000,
      batch_size: 32,
      max_in_flight: 64,
    }),
    watch: { poll_interval_ms: 50 },
  };
  for (let i = 0; i < 2; i++) services.push(await startServiceProcess({ databaseUrl, config, env: { S: SECRET }, startTimeoutMs: 60_000 }));
  db = mysql.createPool({ uri: databaseUrl, connectionLimit: 2 });
  await until(async () => {
    const [rows] = (await db.query("SELECT last_event_id FROM webhook_endpoint")) as unknown as [unknown[]];
    expect(rows).toHaveLength(1);
  }, 30_000);
  const clients = services.map((s) => emailClient(s.url));

  // A WatchOutbox client on the first instance that reconnects every 2 s (and after any error),
  // resuming with after_event_id from the last event it saw: across the failover too.
  const watched: number[] = [];
  let resumes = 0;
  let watching = true;
  const watcher = (async () => {
    while (watching) {
      const after = watched.at(-1) ?? 0;
      try {
        for await (const r of clients[0]!.watchOutbox(
          { accountId: 1, afterEventId: BigInt(after) },
          { signal: AbortSignal.timeout(2_000) },
        )) {
          if (r.message.case === "event") watched.push(Number(r.message.value.eventId));
          if (!watching) break;
        }
      } catch {
        // the 2 s timeout, or the stream cut: resume
      }
      resumes++;
    }
  })();

  // Who runs maintenance, as each instance says, sampled through the run.
  const holders: number[] = [];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const held = await Promise.all(
        services.map(async (s) => {
          const text = await fetch(`${s.url}/metrics`).then(
            (r) => r.text(),
            () => "",
          );
          return /^email_outbox_maintenance_lock_held 1$/m.test(text) ? 1 : 0;
        }),
      );
      holders.push(held.reduce((a: number, b: number) => a + b, 0));
      await delay(100);
    }
  })();

  let next = 0;
  const ids = new Array<number>(MESSAGES);
  const sending = Promise.all(
    Array.from({ length: PARALLEL }, async () => {
      for (let i = next++; i < MESSAGES; i = next++) ids[i] = await sendAcknowledged(clients, i);
    }),
  );

  // The kill: in the middle of the load, the node HAProxy writes to.
  await until(() => expect(sink.messages.length).toBeGreaterThanOrEqual(MESSAGES / 3), 120_000);
  const writer = await cluster.writer();
  const killedAt = Date.now();
  await cluster.kill(cluster.nodes.find((n) => n.name === writer)!);
  await sending;
  const acknowledged = Date.now();

  await untilAllSent(db, MESSAGES);

  // Delivered once each, or again only with the same Message-ID.
  const received = byOutboxId(sink.messages);
  expect([...received.keys()].sort((a, b) => a - b)).toEqual([...new Set(ids)].sort((a, b) => a - b));
  const [rows] = (await db.query("SELECT id, message_id FROM outbox")) as unknown as [{ id: number; message_id: string }[]];
  const messageIds = new Map(rows.map((r) => [Number(r.id), r.message_id]));
  for (const [id, copies] of received) for (const c of copies) expect(c.messageId, `outbox ${id}`).toBe(messageIds.get(id));
  expect(new Set(ids).size).toBe(MESSAGES);

  // Every event, gapless and in order, for the resuming watcher.
  const [events] = (await db.query("SELECT id FROM outbox_event WHERE account_id = 1 ORDER BY id")) as unknown as [{ id: number }[]];
  const last = Number(events.at(-1)!.id);
  await until(() => expect(watched.at(-1)).toBe(last), 60_000);
  watching = false;
  const all = events.map((e) => Number(e.id));
  for (let i = 1; i < all.length; i++) expect(all[i], "event ids are gapless").toBe(all[i - 1]! + 1);
  expect(watched).toEqual(all.slice(all.indexOf(watched[0]!)));

  // Webhooks: every event delivered; a repeat carries the same webhook-id.
  const delivered = new Map<string, number>();
  await until(
    () => {
      delivered.clear();
      for (const r of receiver.received)
        delivered.set(String(r.headers["webhook-id"]), (delivered.get(String(r.headers["webhook-id"])) ?? 0) + 1);
      expect(all.filter((id) => !delivered.has(`evt_${id}`))).toEqual([]);
    },
    120_000,
    250,
  );
  const repeated = [...delivered.values()].filter((n) => n > 1).length;

  sampling = false;
  await sampler;
  expect(Math.max(...holders), "never two maintenance holders").toBeLessThanOrEqual(1);
  expect(holders.at(-1), "a holder after the failover").toBe(1);

  // The first commit on the new writer: the first acknowledged Send that was started after the kill.
  const failoverMs = Math.min(...acks.filter((a) => a.started > killedAt).map((a) => a.answered)) - killedAt;
  expect(Number.isFinite(failoverMs)).toBe(true);

  // The instances recovered by themselves: still the two processes started at the beginning.
  for (const s of services) expect(s.child.exitCode).toBeNull();
  await watcher.catch(() => undefined);
  console.log(
    `ha: killed ${writer} after ${Math.ceil(MESSAGES / 3)}+ deliveries; first commit on the new writer ${failoverMs} ms after the kill; ` +
      `all ${MESSAGES} acknowledged ${acknowledged - killedAt} ms after it; received ${sink.messages.length} for ${received.size} rows ` +
      `(${sink.messages.length - received.size} repeats, same Message-ID); ${all.length} events gapless, watcher resumed ${resumes}×; ` +
      `webhooks: ${delivered.size} events, ${repeated} repeated with the same webhook-id; maintenance holders sampled ${holders.length}×, max ${Math.max(...holders)}`,
  );
}, 600_000);
