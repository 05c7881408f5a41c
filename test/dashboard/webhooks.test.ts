// The dashboard's Webhooks panel in Chromium, against the real service and a real receiver: the
// endpoints of the key's accounts with their state, an endpoint's deliveries (a 400 shows as
// FAILED with its status and reply), and Redeliver sending one again until it is DELIVERED.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { buildDashboard } from "../../dashboard/build.js";
import { createEmailClient } from "../../src/index.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { launchChromium, requireChromium, WAIT_MS } from "../helpers/browser.js";
import { startReceiver, type Receiver } from "../helpers/webhook-receiver.js";
import { testKey } from "../security/keys.js";

const key = testKey("dashboard", "*");
let receiver: Receiver;
let t: TestApp;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

beforeAll(async () => {
  requireChromium();
  await buildDashboard();
  receiver = await startReceiver();
  // The first request is refused for good; every later one is accepted.
  receiver.answer = (_r, n) => (n === 1 ? { status: 400, body: "no such order" } : { status: 200 });
  t = await startTestApp({
    label: "dashboard_webhooks",
    env: { S: `whsec_${Buffer.alloc(24, 4).toString("base64")}` },
    json: {
      api_keys: [key.entry],
      accounts: [
        {
          id: 1,
          from: "A <a@example.com>",
          file_dir: mkdtempSync(path.join(tmpdir(), "wh-")),
          webhooks: [{ id: "orders", url: receiver.url, secret_env: "S", events: ["sent"] }],
        },
      ],
    },
  });
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.on("pageerror", (e) => pageErrors.push(e.message));
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await t?.close();
  await receiver?.close();
});

describe("dashboard Webhooks panel in Chromium", () => {
  test("shows the endpoint and its failed delivery; Redeliver sends it again until it is DELIVERED", async () => {
    const client = createEmailClient({ baseUrl: t.url, apiKey: key.key });
    await client.send({ accountId: 1, to: ["b@example.com"], subject: "order", bodyText: "x" });
    await expect.poll(() => receiver.received.length, { timeout: WAIT_MS }).toBe(1);

    await page.goto(`${t.url}/`);
    // Without a key the panel stays hidden (the list is refused).
    expect(await page.locator("#webhooks").isHidden()).toBe(true);
    await page.fill("#api-key", key.key);
    await page.click('#key-form button[type="submit"]');
    const endpoint = page.locator('#webhook-endpoints tr[data-endpoint="orders"]');
    await endpoint.waitFor({ timeout: WAIT_MS });
    expect(await endpoint.locator(".origin").textContent()).toBe(new URL(receiver.url).origin);
    expect(await endpoint.getAttribute("data-state")).toBe("failing");

    await endpoint.locator("button").click();
    const failed = page.locator('#webhook-deliveries tr[data-status="FAILED"]');
    await failed.waitFor({ timeout: WAIT_MS });
    expect(await failed.locator(".error").textContent()).toBe("HTTP 400: no such order");
    const eventId = await failed.getAttribute("data-event");

    await failed.locator("button").click();
    await expect.poll(() => receiver.received.length, { timeout: WAIT_MS }).toBe(2);
    expect(receiver.received[1]!.headers["webhook-id"]).toBe(`evt_${eventId}`);
    await expect
      .poll(
        async () => {
          await page.click("#webhooks-refresh");
          return page.locator(`#webhook-deliveries tr[data-event="${eventId}"]`).getAttribute("data-status");
        },
        { timeout: WAIT_MS },
      )
      .toBe("DELIVERED");
    expect(await endpoint.getAttribute("data-state")).toBe("ok");
    expect(pageErrors).toEqual([]);
  });
});
