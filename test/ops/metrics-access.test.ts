// /metrics shows per-account volumes, so it is not for anyone who can reach the API port: with
// keys configured it needs a key with the `metrics` scope; with metrics.listen it moves to an
// address of its own (served without a key) and the API port has none.
import { afterAll, beforeAll, expect, test } from "vitest";
import { sinkAccount, startTestApp, type TestApp } from "../helpers/app.js";
import { testKey } from "../security/keys.js";

const scraper = testKey("prometheus", "*", ["metrics"]);
const sender = testKey("sender", "*", ["send", "read"]);
let keyed: TestApp;
let separate: TestApp;

beforeAll(async () => {
  keyed = await startTestApp({
    label: "metrics_keyed",
    background: false,
    json: { api_keys: [scraper.entry, sender.entry], accounts: [sinkAccount(1, 1)] },
  });
  separate = await startTestApp({
    label: "metrics_listen",
    background: false,
    json: { accounts: [sinkAccount(1, 1)], metrics: { listen: "127.0.0.1:0" } },
  });
});
afterAll(async () => {
  await keyed?.close();
  await separate?.close();
});

const get = (url: string, key?: string) => fetch(url, { headers: key ? { authorization: `Bearer ${key}` } : {} });

test("on the API port: 401 without a key, 403 without the scope, the text with it", async () => {
  expect((await get(`${keyed.url}/metrics`)).status).toBe(401);
  expect((await get(`${keyed.url}/metrics`, sender.key)).status).toBe(403);
  const res = await get(`${keyed.url}/metrics`, scraper.key);
  expect(res.status).toBe(200);
  expect(await res.text()).toContain("email_outbox_depth");
  // The probes stay open.
  expect((await get(`${keyed.url}/healthz`)).status).toBe(200);
});

test("with metrics.listen: on its own port without a key, and gone from the API port", async () => {
  expect(separate.app.metricsPort).toBeGreaterThan(0);
  const res = await get(`http://127.0.0.1:${separate.app.metricsPort}/metrics`);
  expect(res.status).toBe(200);
  expect(await res.text()).toContain("email_outbox_depth");
  expect((await get(`${separate.url}/metrics`)).status).toBe(404);
});
