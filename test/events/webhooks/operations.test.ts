// Operating webhooks: WebhookService lists an endpoint's deliveries and re-drives them (through
// the API key's scopes and accounts), an endpoint that keeps failing is paused (metrics, /readyz,
// the list) while the other endpoint goes on, and a redelivery resumes it.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { Code } from "@connectrpc/connect";
import { EmailService } from "../../../gen/email/v1/email_service_pb.js";
import { WebhookDeliveryStatus, WebhookService } from "../../../gen/email/v1/webhook_service_pb.js";
import { startTestApp, type TestApp } from "../../helpers/app.js";
import { refusal } from "../../helpers/refusal.js";
import { startReceiver, type Receiver } from "../../helpers/webhook-receiver.js";
import { keyedClient, testKey } from "../../security/keys.js";
import { until } from "../../faults/kit.js";
import { WEBHOOK_CLAIM_SQL } from "../../../src/outbox/webhook-deliveries.js";

const admin = testKey("admin", [1]);
const readOnly = testKey("reader", [1], ["read", "send"]);
const elsewhere = testKey("elsewhere", [2]);
let good: Receiver;
let failing: Receiver;
let trap: Receiver;
let t: TestApp;

beforeAll(async () => {
  good = await startReceiver();
  failing = await startReceiver();
  failing.answer = () => ({ status: 503 });
  trap = await startReceiver();
  const hook = (id: string, url: string, extra = {}) => ({ id, url, secret_env: "S", retry_initial_ms: 20, ...extra });
  t = await startTestApp({
    label: "webhook-ops",
    // The name resolves to the trap receiver's loopback address.
    resolve: async () => [{ address: "127.0.0.1", family: 4 }],
    env: { S: `whsec_${Buffer.alloc(24, 5).toString("base64")}` },
    json: {
      api_keys: [admin.entry, readOnly.entry, elsewhere.entry],
      accounts: [
        {
          id: 1,
          from: "A <a@example.com>",
          file_dir: mkdtempSync(path.join(tmpdir(), "wh-")),
          webhooks: [
            hook("good", good.url, { events: ["sent"] }),
            hook("flaky", failing.url, { pause_after_ms: 200 }),
            // A public name whose DNS answer is loopback: never connected to.
            hook("rebound", trap.url.replace("127.0.0.1", "hooks.example.test"), { allow_http: true, events: ["created"] }),
          ],
        },
        { id: 2, from: "B <b@example.com>", file_dir: mkdtempSync(path.join(tmpdir(), "wh-")) },
      ],
      watch: { poll_interval_ms: 50 },
    },
  });
});

afterAll(async () => {
  await t?.close();
  await good?.close();
  await failing?.close();
  await trap?.close();
});

const hooks = (key = admin.key) => keyedClient(WebhookService, t.url, key);
const send = async (subject: string) =>
  Number(
    (await keyedClient(EmailService, t.url, admin.key).send({ accountId: 1, to: ["x@example.com"], subject, bodyText: "x" })).outbox!
      .outboxId,
  );

test("the claim is one range scan of its index, without a filesort", async () => {
  const [plan] = (await t.app.pool.query(`EXPLAIN ${WEBHOOK_CLAIM_SQL}`, [1, "good", Date.now(), 8])) as unknown as [
    { key: string; Extra: string }[],
  ];
  expect(plan[0]!.key).toBe("idx_webhook_delivery_due");
  expect(plan[0]!.Extra ?? "").not.toMatch(/filesort/);
});

test("an endpoint failing past pause_after_ms is paused; the other endpoint goes on; a redelivery resumes it", async () => {
  const id = await send("pause");
  // The filtered endpoint gets only the SENT event.
  await until(() => expect(good.received.map((r) => JSON.parse(r.body).type)).toContain("outbox.sent"), 10_000);
  expect(new Set(good.received.map((r) => JSON.parse(r.body).type))).toEqual(new Set(["outbox.sent"]));

  await until(async () => expect((await hooks().listWebhookDeliveries({ accountId: 1, endpointId: "flaky" })).paused).toBe(true), 10_000);
  const page = await hooks().listWebhookDeliveries({ accountId: 1, endpointId: "flaky" });
  const first = page.deliveries.find((d) => Number(d.outboxId) === id && d.status === WebhookDeliveryStatus.PENDING)!;
  expect(first).toMatchObject({ lastHttpStatus: 503, lastError: "HTTP 503:" });
  expect(first.attempts).toBeGreaterThan(1);
  expect(first.nextAttemptTime).toBeDefined();

  const metrics = await (await fetch(`${t.url}/metrics`, { headers: { authorization: `Bearer ${admin.key}` } })).text();
  expect(metrics).toContain('email_outbox_webhook_endpoint_paused{account_id="1",endpoint="flaky"} 1');
  expect(metrics).toContain('email_outbox_webhook_endpoint_paused{account_id="1",endpoint="good"} 0');
  expect(metrics).toMatch(/email_outbox_webhook_deliveries_total\{account_id="1",endpoint="flaky",result="retry"\} [1-9]/);
  expect(metrics).toMatch(/email_outbox_webhook_oldest_undelivered_age_seconds\{account_id="1",endpoint="flaky"\} [0-9.]*[1-9]/);
  expect(await (await fetch(`${t.url}/readyz`)).json()).toEqual({ status: "ready", webhooks_paused: 1 });

  // Paused: no more requests, while mail and the other endpoint go on.
  const seen = failing.received.length;
  const later = await send("while paused");
  await until(() => expect(good.received.some((r) => Number(JSON.parse(r.body).data.outboxId) === later)).toBe(true), 10_000);
  expect(failing.received.length).toBe(seen);

  // A redelivery (of nothing finished yet) lifts the pause; the endpoint now answers.
  failing.answer = () => ({ status: 200 });
  expect((await hooks().redeliverWebhooks({ accountId: 1, endpointId: "flaky", fromEventId: 1n, toEventId: 1n })).redelivered).toBe(0);
  await until(async () => {
    const all = (await hooks().listWebhookDeliveries({ accountId: 1, endpointId: "flaky", pageSize: 500 })).deliveries;
    expect(all.filter((d) => d.status !== WebhookDeliveryStatus.DELIVERED)).toEqual([]);
  }, 10_000);
  expect((await hooks().listWebhookDeliveries({ accountId: 1, endpointId: "flaky" })).paused).toBe(false);
});

test("RedeliverWebhooks sends a delivered range again with the same webhook-ids", async () => {
  const id = await send("again");
  await until(() => expect(good.received.some((r) => Number(JSON.parse(r.body).data.outboxId) === id)).toBe(true), 10_000);
  const [d] = (await hooks().listWebhookDeliveries({ accountId: 1, endpointId: "good", pageSize: 1 })).deliveries;
  expect(d).toMatchObject({ outboxId: BigInt(id), status: WebhookDeliveryStatus.DELIVERED, attempts: 1, lastHttpStatus: 200 });
  const before = good.received.length;
  expect((await hooks().redeliverWebhooks({ accountId: 1, endpointId: "good", fromEventId: d!.eventId })).redelivered).toBe(1);
  await until(() => expect(good.received.length).toBe(before + 1), 10_000);
  expect(good.received.at(-1)!.headers["webhook-id"]).toBe(`evt_${d!.eventId}`);
});

test("ListWebhookEndpoints: the key's endpoints with their state, the URL's origin only", async () => {
  const { endpoints } = await hooks().listWebhookEndpoints({});
  expect(endpoints.map((e) => [e.accountId, e.endpointId, e.origin, e.enabled])).toEqual([
    [1, "flaky", new URL(failing.url).origin, true],
    [1, "good", new URL(good.url).origin, true],
    [1, "rebound", new URL(trap.url.replace("127.0.0.1", "hooks.example.test")).origin, true],
  ]);
  const byId = new Map(endpoints.map((e) => [e.endpointId, e]));
  expect(byId.get("good")!.paused).toBe(false);
  expect(byId.get("good")!.failingSince).toBeUndefined();
  // The refused address counts as failing (and would pause it after pause_after_ms).
  expect(byId.get("rebound")!.failingSince).toBeDefined();
  expect((await hooks(elsewhere.key).listWebhookEndpoints({})).endpoints).toEqual([]);
  expect(await refusal(hooks(elsewhere.key).listWebhookEndpoints({ accountId: 1 }))).toMatchObject({
    code: Code.PermissionDenied,
    reason: "ACCOUNT_NOT_ALLOWED",
  });
});

test("paging, and the refusals: scope, account, unknown endpoint, bad range", async () => {
  const all = (await hooks().listWebhookDeliveries({ accountId: 1, endpointId: "flaky", pageSize: 500 })).deliveries;
  const first = await hooks().listWebhookDeliveries({ accountId: 1, endpointId: "flaky", pageSize: 2 });
  const second = await hooks().listWebhookDeliveries({
    accountId: 1,
    endpointId: "flaky",
    pageSize: 2,
    beforeEventId: first.nextBeforeEventId,
  });
  expect([...first.deliveries, ...second.deliveries].map((d) => d.eventId)).toEqual(all.slice(0, 4).map((d) => d.eventId));

  expect(await refusal(hooks(readOnly.key).redeliverWebhooks({ accountId: 1, endpointId: "good", fromEventId: 1n }))).toMatchObject({
    code: Code.PermissionDenied,
    reason: "SCOPE_NOT_ALLOWED",
  });
  expect(await refusal(hooks(elsewhere.key).listWebhookDeliveries({ accountId: 1, endpointId: "good" }))).toMatchObject({
    code: Code.PermissionDenied,
    reason: "ACCOUNT_NOT_ALLOWED",
  });
  expect(await refusal(hooks().listWebhookDeliveries({ accountId: 1, endpointId: "nope" }))).toMatchObject({
    code: Code.NotFound,
    reason: "WEBHOOK_NOT_FOUND",
  });
  expect(await refusal(hooks().redeliverWebhooks({ accountId: 1, endpointId: "good", fromEventId: 5n, toEventId: 20_000n }))).toMatchObject(
    { code: Code.InvalidArgument, reason: "EVENT_RANGE_INVALID", fields: ["to_event_id"] },
  );
  expect(
    await refusal(keyedClient(WebhookService, t.url, undefined).listWebhookDeliveries({ accountId: 1, endpointId: "good" })),
  ).toMatchObject({ code: Code.Unauthenticated });
});

test("a public name that resolves to loopback is refused: recorded as failed, nothing connects", async () => {
  const id = await send("rebound");
  await until(async () => {
    const [d] = (await hooks().listWebhookDeliveries({ accountId: 1, endpointId: "rebound", pageSize: 1 })).deliveries;
    expect(d).toMatchObject({
      outboxId: BigInt(id),
      status: WebhookDeliveryStatus.FAILED,
      attempts: 1,
      lastError: "hooks.example.test resolved to 127.0.0.1, an internal address",
    });
  }, 10_000);
  expect(trap.received).toEqual([]);
});
