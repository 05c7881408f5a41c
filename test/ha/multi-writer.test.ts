// Several writers: two instances, each connected straight to a different node of the Galera
// cluster (no proxy), so both nodes take writes at once. Claims are fenced by the status they
// were taken from and by certification (a conflicting commit fails with a deadlock error and is
// retried), and leases are rows: every message is sent once, with one Message-ID, and at most one
// instance runs maintenance at any moment.
import { setTimeout as delay } from "node:timers/promises";
import mysql from "mysql2/promise";
import { afterAll, beforeAll, expect, test } from "vitest";
import { sinkAccount } from "../helpers/app.js";
import { emailClient } from "../helpers/clients.js";
import { startGaleraCluster, type GaleraCluster } from "../helpers/galera.js";
import { startServiceProcess, type ServiceProcess } from "../helpers/service-process.js";
import { startSmtpSink, type SmtpSink } from "../helpers/smtp-sink.js";
import { byOutboxId, serviceConfig, untilAllSent } from "../faults/kit.js";

const MESSAGES = 600;
const PARALLEL = 16;

let cluster: GaleraCluster;
let sink: SmtpSink;
let db: mysql.Pool;
const services: ServiceProcess[] = [];

beforeAll(async () => {
  cluster = await startGaleraCluster(3);
  sink = await startSmtpSink();
}, 240_000);
afterAll(async () => {
  for (const s of services) s.kill("SIGKILL");
  await Promise.all(services.map((s) => s.exited));
  await db?.end();
  await sink?.close();
  await cluster?.close();
});

test("two instances writing through two nodes at once: every message sent once, one maintenance holder", async () => {
  const config = serviceConfig([sinkAccount(1, sink.port, { max_connections: 8 })], { lease_ms: 3_000, batch_size: 16, max_in_flight: 32 });
  // The first instance creates the schema; the second starts on another node once it is there.
  for (const node of cluster.nodes.slice(0, 2)) {
    services.push(await startServiceProcess({ databaseUrl: `${cluster.nodeUrl(node)}eo_multi`, config, startTimeoutMs: 60_000 }));
  }
  db = mysql.createPool({ uri: `${cluster.nodeUrl(cluster.nodes[2]!)}eo_multi`, connectionLimit: 2 });
  const clients = services.map((s) => emailClient(s.url));

  const holders: number[] = [];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const held = await Promise.all(
        services.map((s) =>
          fetch(`${s.url}/metrics`).then(
            (r) => r.text(),
            () => "",
          ),
        ),
      );
      holders.push(held.filter((text) => /^email_outbox_maintenance_lock_held 1$/m.test(text)).length);
      await delay(100);
    }
  })();

  let next = 0;
  let refusals = 0;
  const ids = new Array<number>(MESSAGES);
  await Promise.all(
    Array.from({ length: PARALLEL }, async () => {
      for (let i = next++; i < MESSAGES; i = next++) {
        for (let _attempt = 0; ; _attempt++) {
          try {
            const res = await clients[i % 2]!.send({
              accountId: 1,
              to: [`rcpt${i}@example.com`],
              subject: `mw ${i}`,
              bodyText: `body ${i}`,
              idempotencyKey: `mw-${i}`,
            });
            ids[i] = Number(res.outbox!.outboxId);
            break;
          } catch {
            refusals++;
            await delay(50);
          }
        }
      }
    }),
  );
  await untilAllSent(db, MESSAGES);
  sampling = false;
  await sampler;

  const received = byOutboxId(sink.messages);
  expect(new Set(ids).size).toBe(MESSAGES);
  expect([...received.keys()].sort((a, b) => a - b)).toEqual([...ids].sort((a, b) => a - b));
  const [rows] = (await db.query("SELECT id, message_id FROM outbox")) as unknown as [{ id: number; message_id: string }[]];
  const messageIds = new Map(rows.map((r) => [Number(r.id), r.message_id]));
  for (const [id, copies] of received) for (const c of copies) expect(c.messageId, `outbox ${id}`).toBe(messageIds.get(id));
  const repeats = sink.messages.length - received.size;
  expect(repeats, "no message sent twice").toBe(0);
  expect(Math.max(...holders), "never two maintenance holders").toBeLessThanOrEqual(1);

  const [events] = (await db.query("SELECT id FROM outbox_event ORDER BY id")) as unknown as [{ id: number }[]];
  const all = events.map((e) => Number(e.id));
  for (let i = 1; i < all.length; i++) expect(all[i], "event ids are gapless").toBe(all[i - 1]! + 1);
  console.log(
    `ha multi-writer: ${MESSAGES} messages through 2 nodes at once; ${refusals} Sends refused and retried; received ${sink.messages.length} ` +
      `(${repeats} repeats); ${all.length} events gapless; maintenance holders sampled ${holders.length}×, max ${Math.max(...holders)}`,
  );
}, 600_000);
