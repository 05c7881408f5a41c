// Webhooks end to end against a real node:http receiver: signed per Standard Webhooks (checked
// with the standardwebhooks package, for both secrets of a rotation), a row's events in order,
// and each kind of answer: 200, 500, 429 with Retry-After, a hang, a dropped connection, a 400.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { Webhook } from "standardwebhooks";
import { emailClient, type EmailClient } from "../../helpers/clients.js";
import { startTestApp, type TestApp } from "../../helpers/app.js";
import { startReceiver, type Answer, type Receiver, type Received } from "../../helpers/webhook-receiver.js";
import { until } from "../../faults/kit.js";
import { parseConfig } from "../../../src/config/config.js";

const OLD = `whsec_${Buffer.alloc(24, 1).toString("base64")}`;
const NEW = `whsec_${Buffer.alloc(32, 2).toString("base64")}`;
let receiver: Receiver;
let t: TestApp;
let client: EmailClient;
/** Answers per outbox id: the n-th request about that row gets script[n] (then 200). */
const scripts = new Map<number, Answer[]>();

interface Body {
  type: string;
  data: { eventId: string; outboxId: string; kind: string; status: string };
}
const parse = (r: Received) => JSON.parse(r.body) as Body;
const about = (outboxId: number) => receiver.received.filter((r) => Number(parse(r).data.outboxId) === outboxId);

beforeAll(async () => {
  receiver = await startReceiver();
  receiver.answer = (r) => {
    const script = scripts.get(Number(parse(r).data.outboxId));
    return script?.shift() ?? { status: 200 };
  };
  t = await startTestApp({
    label: "webhooks",
    env: { HOOK_SECRETS: `${OLD} ${NEW}` },
    json: {
      accounts: [
        {
          id: 1,
          from: "A <a@example.com>",
          file_dir: mkdtempSync(path.join(tmpdir(), "wh-")),
          webhooks: [{ id: "main", url: receiver.url, secret_env: "HOOK_SECRETS", timeout_ms: 500, retry_initial_ms: 50 }],
        },
      ],
      watch: { poll_interval_ms: 50 },
    },
  });
  client = emailClient(t.url);
});

afterAll(async () => {
  await t?.close();
  await receiver?.close();
});

async function sendOne(subject: string): Promise<number> {
  const { outbox } = await client.send({ accountId: 1, to: ["b@example.com"], subject, bodyText: "x" });
  return Number(outbox!.outboxId);
}

/** Waits for the row's SENT event to be delivered (answered 2xx) and returns every request about the row. */
async function deliveredSent(outboxId: number): Promise<Received[]> {
  await until(async () => {
    const [rows] = (await t.app.pool.query(
      "SELECT COUNT(*) AS n FROM webhook_delivery d JOIN outbox_event e ON e.id = d.event_id WHERE d.outbox_id = ? AND e.kind = 4 AND d.status = 'delivered'",
      [outboxId],
    )) as unknown as [{ n: number }[]];
    expect(Number(rows[0]!.n)).toBe(1);
  }, 15_000);
  return about(outboxId);
}

async function deliveryOfEvent(eventId: number) {
  const [rows] = (await t.app.pool.query("SELECT status, attempts, last_status, last_error FROM webhook_delivery WHERE event_id = ?", [
    eventId,
  ])) as unknown as [{ status: string; attempts: number; last_status: number | null; last_error: string | null }[]];
  return rows[0]!;
}

const eventIdOf = (r: Received) => Number(parse(r).data.eventId);

test("every event of a row arrives in order, signed with both secrets of a rotation", async () => {
  const id = await sendOne("signed");
  const requests = await deliveredSent(id);
  const ids = requests.map((r) => Number(parse(r).data.eventId));
  expect(ids).toEqual([...ids].sort((a, b) => a - b));
  expect(requests.map((r) => parse(r).type)).toContain("outbox.sent");
  for (const r of requests) {
    const headers = r.headers as Record<string, string>;
    expect(headers["webhook-id"]).toBe(`evt_${parse(r).data.eventId}`);
    expect(headers["webhook-signature"]!.split(" ")).toHaveLength(2);
    // Each secret alone verifies: a receiver on the old or the new one accepts the request.
    for (const secret of [OLD, NEW]) expect(new Webhook(secret).verify(r.body, headers)).toMatchObject({ type: parse(r).type });
    expect(() => new Webhook(`whsec_${Buffer.alloc(24, 9).toString("base64")}`).verify(r.body, headers)).toThrow();
  }
});

test("a 500 is retried with the same webhook-id until it is answered 2xx", async () => {
  const id = await sendOne("500");
  scripts.set(id, [{ status: 500, body: "down" }, { status: 500 }]);
  const requests = await deliveredSent(id);
  const first = requests[0]!.headers["webhook-id"];
  expect(requests.filter((r) => r.headers["webhook-id"] === first)).toHaveLength(3);
  expect(await deliveryOfEvent(eventIdOf(requests[0]!))).toMatchObject({
    status: "delivered",
    attempts: 3,
    last_status: 200,
    last_error: null,
  });
});

test("a 429 waits at least its Retry-After", async () => {
  const id = await sendOne("429");
  scripts.set(id, [{ status: 429, headers: { "retry-after": "1" } }]);
  const requests = await deliveredSent(id);
  const [first, second] = requests;
  expect(second!.headers["webhook-id"]).toBe(first!.headers["webhook-id"]);
  // The service scheduled it a second out; the receiver saw the retry no earlier.
  expect(second!.at - first!.at).toBeGreaterThanOrEqual(1000);
});

for (const [answer, error] of [
  ["hang", "no answer within 500 ms"],
  ["close", "connection failed: ECONNRESET"],
] as const) {
  test(`${answer === "hang" ? "a hang past timeout_ms" : "a dropped connection"} is retried, the error recorded meanwhile`, async () => {
    const id = await sendOne(answer);
    scripts.set(
      id,
      Array.from({ length: 1000 }, () => answer),
    );
    await until(() => expect(about(id).length).toBeGreaterThan(0), 10_000);
    const eventId = eventIdOf(about(id)[0]!);
    await until(
      async () => expect(await deliveryOfEvent(eventId)).toMatchObject({ status: "pending", last_error: error, last_status: null }),
      10_000,
    );
    scripts.set(id, []);
    const requests = await deliveredSent(id);
    expect(requests.filter((r) => eventIdOf(r) === eventId).length).toBeGreaterThanOrEqual(2);
    expect(await deliveryOfEvent(eventId)).toMatchObject({ status: "delivered", last_error: null });
  });
}

test("a 400 is permanent: recorded (cut short), not retried, and the row's next event still goes out", async () => {
  const id = await sendOne("400");
  scripts.set(id, [{ status: 400, body: `bad\r\nrequest ${"x".repeat(10_000)}` }]);
  const requests = await deliveredSent(id);
  const first = requests[0]!;
  expect(requests.filter((r) => r.headers["webhook-id"] === first.headers["webhook-id"])).toHaveLength(1);
  // The reply is kept as one line, cut to 500 characters.
  const d = await deliveryOfEvent(eventIdOf(first));
  expect(d).toMatchObject({ status: "failed", attempts: 1, last_status: 400 });
  expect(d.last_error).toBe(`HTTP 400: bad request ${"x".repeat(500 - "HTTP 400: bad request ".length)}…`);
});

test("a second instance on the same database: each event is delivered once", async () => {
  const second = await startTestApp({
    db: t.db,
    label: "webhooks-2",
    env: { HOOK_SECRETS: `${OLD} ${NEW}` },
    json: {
      accounts: [
        {
          id: 1,
          from: "A <a@example.com>",
          file_dir: mkdtempSync(path.join(tmpdir(), "wh-")),
          webhooks: [{ id: "main", url: receiver.url, secret_env: "HOOK_SECRETS", timeout_ms: 500, retry_initial_ms: 50 }],
        },
      ],
      watch: { poll_interval_ms: 50 },
    },
  });
  try {
    const ids = await Promise.all(Array.from({ length: 20 }, (_, i) => sendOne(`two ${i}`)));
    for (const id of ids) await deliveredSent(id);
    const webhookIds = ids.flatMap((id) => about(id).map((r) => r.headers["webhook-id"]));
    expect(new Set(webhookIds).size).toBe(webhookIds.length);
  } finally {
    await second.close();
  }
});

test("a config reload adds endpoints: they get the events from then on, a tag filter only its rows'", async () => {
  const added = await startReceiver();
  const tagged = await startReceiver();
  try {
    const json = {
      accounts: [
        {
          id: 1,
          from: "A <a@example.com>",
          file_dir: mkdtempSync(path.join(tmpdir(), "wh-")),
          webhooks: [
            { id: "main", url: receiver.url, secret_env: "HOOK_SECRETS", timeout_ms: 500, retry_initial_ms: 50 },
            { id: "added", url: added.url, secret_env: "NEW_SECRET", events: ["sent"] },
            { id: "tagged", url: tagged.url, secret_env: "NEW_SECRET", events: ["sent"], tags: { campaign: "spring" } },
          ],
        },
      ],
      watch: { poll_interval_ms: 50 },
    };
    t.app.reload(parseConfig(json, { HOOK_SECRETS: `${OLD} ${NEW}`, NEW_SECRET: NEW, DATABASE_URL: t.db.url, PORT: "0" }, process.cwd()));
    // A new endpoint starts at the newest event when the dispatcher first sees it.
    await until(async () => {
      const [rows] = (await t.app.pool.query("SELECT 1 FROM webhook_endpoint WHERE endpoint_id IN ('added', 'tagged')")) as unknown as [
        unknown[],
      ];
      expect(rows).toHaveLength(2);
    }, 10_000);
    const id = await sendOne("after reload");
    await until(() => expect(added.received.map((r) => Number(parse(r).data.outboxId))).toEqual([id]), 10_000);
    expect(new Webhook(NEW).verify(added.received[0]!.body, added.received[0]!.headers as Record<string, string>)).toMatchObject({
      type: "outbox.sent",
    });

    const spring = Number(
      (await client.send({ accountId: 1, to: ["b@example.com"], subject: "tagged", bodyText: "x", tags: { campaign: "spring" } })).outbox!
        .outboxId,
    );
    await until(() => expect(tagged.received.map((r) => Number(parse(r).data.outboxId))).toEqual([spring]), 10_000);
    expect(JSON.parse(tagged.received[0]!.body).data.tags).toEqual({ campaign: "spring" });
  } finally {
    await added.close();
    await tagged.close();
  }
});

test("no log line carries a signing secret", () => {
  const text = JSON.stringify(t.logs);
  for (const secret of [OLD, NEW]) expect(text).not.toContain(secret.slice("whsec_".length));
  expect(t.logs.some((l) => l.msg === "webhook attempt failed")).toBe(true);
});
