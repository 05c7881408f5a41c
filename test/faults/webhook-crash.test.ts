// Webhooks under SIGKILL: the service is killed three times while it delivers events to a real
// receiver, and restarted on the same database. Every event reaches the endpoint; an event is
// sent twice only if it was in flight at a kill, and then with the same webhook-id.
import { randomInt } from "node:crypto";
import { setTimeout as delay } from "node:timers/promises";
import mysql from "mysql2/promise";
import { afterAll, beforeAll, expect, test } from "vitest";
import { sinkAccount, startTestApp, type TestApp } from "../helpers/app.js";
import { emailClient } from "../helpers/clients.js";
import { startReceiver, type Receiver } from "../helpers/webhook-receiver.js";
import { openRig, sendMany, serviceConfig, until, type Rig } from "./kit.js";

const MESSAGES = 150;
const KILLS = 3;
const SECRET = `whsec_${Buffer.alloc(24, 3).toString("base64")}`;
/** Requests per endpoint under way at once on one instance (src/events/webhooks/dispatcher.ts). */
const PER_ENDPOINT = 8;

let rig: Rig;
let receiver: Receiver;
let api: TestApp | undefined;
let db: mysql.Pool;

beforeAll(async () => {
  rig = await openRig("fault_webhooks");
  receiver = await startReceiver();
  db = mysql.createPool({ uri: rig.db.url, connectionLimit: 2 });
});
afterAll(async () => {
  await api?.close();
  await db?.end();
  await rig?.close();
  await receiver?.close();
});

test("SIGKILL during deliveries loses no event; only in-flight ones repeat, with the same webhook-id", async () => {
  const base = serviceConfig([sinkAccount(1, rig.sink.port)], {});
  const webhooks = [{ id: "crash", url: receiver.url, secret_env: "S", timeout_ms: 1000, retry_initial_ms: 100 }];
  const config = { ...base, accounts: [{ ...sinkAccount(1, rig.sink.port), webhooks }], watch: { poll_interval_ms: 50 } };
  const env = { S: SECRET };
  const answered = new Set<string>();
  receiver.answer = (r) => {
    answered.add(String(r.headers["webhook-id"]));
    return { status: 200 };
  };
  let child = await rig.start(config, { env });
  // The endpoint's cursor starts at the newest event when the first instance sees it: before any mail.
  await until(async () => {
    const [rows] = (await db.query("SELECT last_event_id FROM webhook_endpoint")) as unknown as [unknown[]];
    expect(rows).toHaveLength(1);
  }, 30_000);
  api = await startTestApp({ db: rig.db, json: config, env, background: false });
  const enqueued = sendMany(emailClient(api.url), MESSAGES, 8);
  enqueued.catch(() => undefined);

  for (let k = 0; k < KILLS; k++) {
    const after = receiver.received.length + randomInt(20, 80);
    await until(() => expect(receiver.received.length).toBeGreaterThanOrEqual(after), 60_000);
    await delay(randomInt(0, 20));
    child.kill("SIGKILL");
    expect(await child.exited).toBe("SIGKILL");
    child = await rig.start(config, { env });
  }
  await enqueued;
  await api.close();
  api = undefined;

  // Every event of the account (all of them come after the cursor's start) must arrive.
  const [events] = (await db.query("SELECT id FROM outbox_event WHERE account_id = 1 ORDER BY id")) as unknown as [{ id: number }[]];
  const expected = events.map((e) => `evt_${e.id}`);
  await until(
    async () => {
      const [now] = (await db.query("SELECT id FROM outbox_event WHERE account_id = 1 ORDER BY id")) as unknown as [{ id: number }[]];
      expect(now.filter((e) => !answered.has(`evt_${e.id}`))).toEqual([]);
    },
    120_000,
    250,
  );
  expect(expected.every((id) => answered.has(id))).toBe(true);
  // An outcome is written after the receiver answered (in batches), so the rows follow shortly;
  // one whose answer a kill cut off is sent again once its lease expires.
  await until(
    async () => {
      const [open] = (await db.query("SELECT COUNT(*) AS n FROM webhook_delivery WHERE status <> 'delivered'")) as unknown as [
        { n: number }[],
      ];
      expect(Number(open[0]!.n)).toBe(0);
    },
    30_000,
    250,
  );

  // Repeats: only what was in flight at a kill (at most PER_ENDPOINT each time).
  const ids = receiver.received.map((r) => String(r.headers["webhook-id"]));
  expect(ids.length - new Set(ids).size).toBeLessThanOrEqual(KILLS * PER_ENDPOINT);
  child.kill("SIGTERM");
  expect(await child.exited).toBe(0);
});
