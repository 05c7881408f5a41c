// The dashboard's Templates panel in Chromium, against the real service: the account's templates,
// a new one written with a live preview (RenderTemplate) whose HTML is in the sandboxed frame,
// problems shown as they are typed, Save making versions, an earlier version read back, and the
// sample data kept with the template.
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { buildDashboard } from "../../dashboard/build.js";
import { TemplateService } from "../../gen/email/v1/template_service_pb.js";
import { EmailService } from "../../gen/email/v1/email_service_pb.js";
import { sinkAccount, startTestApp, type TestApp } from "../helpers/app.js";
import { launchChromium, requireChromium, WAIT_MS } from "../helpers/browser.js";
import { testKey, withAuthorization } from "../security/keys.js";

const key = testKey("dashboard", "*");
let t: TestApp;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];
const dialogs: string[] = [];

beforeAll(async () => {
  requireChromium();
  await buildDashboard();
  t = await startTestApp({
    label: "dashboard_templates",
    background: false,
    json: { api_keys: [key.entry], accounts: [sinkAccount(1, 2525), sinkAccount(2, 2525)] },
  });
  const api = createClient(
    TemplateService,
    createConnectTransport({ baseUrl: t.url, httpVersion: "1.1", interceptors: [withAuthorization(`Bearer ${key.key}`)] }),
  );
  await api.createTemplate({
    accountId: 1,
    name: "welcome",
    content: { subject: "Hi {{name}}", html: "<p>Welcome</p>", text: "", description: "first mail" },
  });
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  page.on("pageerror", (e) => pageErrors.push(e.message));
  page.on("dialog", (d) => {
    dialogs.push(d.message());
    void d.accept();
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await t?.close();
});

const editor = () => page.locator("#template-editor");
const field = (name: string) => editor().locator(`[name="${name}"]`);
const previewFrame = () => editor().locator('[data-part="html"] iframe');

describe("dashboard Templates panel in Chromium", () => {
  test("lists the account's templates; a new one is previewed live, saved, versioned and read back", async () => {
    await page.goto(`${t.url}/`);
    await page.fill("#api-key", key.key);
    await page.click('#key-form button[type="submit"]');
    await page.locator('#account option[value="1"]').waitFor({ state: "attached", timeout: WAIT_MS });
    expect(await page.locator("#templates-title").textContent()).toBe("Templates: pick an account");
    await page.selectOption("#account", "1");
    const welcome = page.locator('#templates-table tr[data-template="welcome"]');
    await welcome.waitFor({ timeout: WAIT_MS });
    expect(await welcome.locator(".version").textContent()).toBe("v1");
    expect(await welcome.locator(".description").textContent()).toBe("first mail");

    // A new template: the preview follows the form, the HTML in the detail view's sandbox.
    await page.click("#template-new");
    await editor().waitFor({ timeout: WAIT_MS });
    await field("name").fill("receipt");
    await field("subject").fill("Receipt {{order.id}}");
    await field("sampleData").fill(JSON.stringify({ order: { id: 7, items: [{ title: "<b>Tea</b>", price: 3 }] } }));
    await field("html").fill(
      "<ul>{{#each order.items}}<li>{{title}}: {{formatNumber price style='currency' currency='EUR'}} {{missing}}</li>{{/each}}</ul>",
    );
    const problems = editor().locator('[data-part="problems"] li');
    await expect
      .poll(() => problems.allTextContents(), { timeout: WAIT_MS })
      .toEqual(["data: the data has no order.items[0].missing (read by the html)"]);
    await field("html").fill(
      "<ul>{{#each order.items}}<li>{{title}}: {{formatNumber price style='currency' currency='EUR'}}</li>{{/each}}</ul><script>parent.document.title='x'</script>",
    );
    await expect.poll(() => problems.count(), { timeout: WAIT_MS }).toBe(0);
    expect(await editor().locator('[data-part="subject"]').textContent()).toBe("Receipt 7");
    expect(await previewFrame().getAttribute("sandbox")).toBe("");
    const frame = (await previewFrame().elementHandle())!;
    const srcdoc = await frame.getAttribute("srcdoc");
    expect(srcdoc).toContain("<li>&lt;b&gt;Tea&lt;/b&gt;: €3.00</li>");
    expect(srcdoc).toContain("default-src 'none'");
    expect(await editor().locator('[data-part="text"]').textContent()).toContain("<b>Tea</b>: €3.00");
    expect(await page.title()).toBe("Outbox · email-outbox");

    await editor().locator('button[data-action="save"]').click();
    await expect
      .poll(() => editor().locator('[data-part="versions"] option').allTextContents(), { timeout: WAIT_MS })
      .toEqual([expect.stringMatching(/^v1 \(latest\)/)]);
    await page.locator('#templates-table tr[data-template="receipt"]').waitFor({ timeout: WAIT_MS });

    // A second version; the first stays readable, with the sample data it was saved with.
    await field("subject").fill("Your receipt {{order.id}}");
    await field("sampleData").fill(JSON.stringify({ order: { id: 8, items: [] } }));
    await expect.poll(() => editor().locator('[data-part="subject"]').textContent(), { timeout: WAIT_MS }).toBe("Your receipt 8");
    await editor().locator('button[data-action="save"]').click();
    await expect
      .poll(() => editor().locator('[data-part="versions"] option').allTextContents(), { timeout: WAIT_MS })
      .toEqual([expect.stringMatching(/^v2 \(latest\)/), expect.stringMatching(/^v1 /)]);
    await editor().locator('[data-part="versions"]').selectOption("1");
    await expect.poll(() => field("subject").inputValue(), { timeout: WAIT_MS }).toBe("Receipt {{order.id}}");
    expect(JSON.parse(await field("sampleData").inputValue())).toEqual({ order: { id: 7, items: [{ title: "<b>Tea</b>", price: 3 }] } });
    await expect.poll(() => editor().locator('[data-part="subject"]').textContent(), { timeout: WAIT_MS }).toBe("Receipt 7");
    await expect
      .poll(() => page.locator('#templates-table tr[data-template="receipt"] .version').textContent(), { timeout: WAIT_MS })
      .toBe("v2");

    // A save the server refuses shows why, field by field.
    await field("html").fill("{{#each}}");
    await editor().locator('button[data-action="save"]').click();
    await expect
      .poll(() => problems.allTextContents(), { timeout: WAIT_MS })
      .toEqual([expect.stringMatching(/^content\.html: line 1: parse error/)]);

    // A message sent with it shows, in the detail view, the template and version it came from.
    const email = createClient(
      EmailService,
      createConnectTransport({ baseUrl: t.url, httpVersion: "1.1", interceptors: [withAuthorization(`Bearer ${key.key}`)] }),
    );
    const sent = await email.send({
      accountId: 1,
      to: ["bob@example.com"],
      template: { name: "receipt", version: 1, data: { order: { id: 9, items: [{ title: "Tea", price: 3 }] } } },
    });
    await editor().locator('button[data-action="close"]').click();
    await page.locator(`tr[data-outbox-id="${sent.outbox!.outboxId}"] button[data-view]`).click();
    await expect.poll(() => page.locator('#detail dd[data-field="Template"]').textContent(), { timeout: WAIT_MS }).toBe("receipt v1");
    await page.click("#detail-close");
    await page.locator('#templates-table tr[data-template="receipt"] button[data-edit]').click();
    await expect.poll(() => field("name").inputValue(), { timeout: WAIT_MS }).toBe("receipt");

    // Delete asks first, then the list no longer has it.
    await editor().locator('button[data-action="delete"]').click();
    await expect.poll(() => page.locator('#templates-table tr[data-template="receipt"]').count(), { timeout: WAIT_MS }).toBe(0);
    expect(dialogs).toEqual([expect.stringContaining("Delete template receipt?")]);
    expect(pageErrors).toEqual([]);
  });
});
