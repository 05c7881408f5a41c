// The dashboard in a real browser: Debian's Chromium, driven by playwright-core, against the
// real service (API keys on) and a real SMTP sink. The page streams the outbox with
// WatchOutbox over connect-web; the test sends with the typed client and watches the page.
import { mkdir } from "node:fs/promises";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { buildDashboard } from "../../dashboard/build.js";
import { createClient } from "@connectrpc/connect";
import { createEmailClient, createEmailTransport, FailureMode, MailboxService, OutboxStatus, type EmailClient } from "../../src/index.js";
import { launchChromium, requireChromium, WAIT_MS } from "../helpers/browser.js";
import { fixture } from "../inbound/bounces/fixtures.js";
import { DOMAIN, startClientFixture, type ClientFixture } from "../clients/fixture.js";

const SCREENSHOT = "test-results/dashboard.png";
const DETAIL_SCREENSHOT = "test-results/dashboard-detail.png";
/** The top of the page with two rows ticked: what docs/dashboard.png shows. */
const README_SCREENSHOT = "test-results/dashboard-readme.png";

let f: ClientFixture;
let browser: Browser;
let page: Page;
let client: EmailClient;
const requested: string[] = [];
const pageErrors: string[] = [];

beforeAll(async () => {
  requireChromium();
  await buildDashboard();
  // Two accounts, so the account filter has something to tell apart.
  f = await startClientFixture("dashboard", 2);
  client = createEmailClient({ baseUrl: f.t.url, apiKey: f.apiKey });
  // Playwright gives the browser a fresh, temporary profile.
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1400, height: 760 } });
  page.on("request", (r) => requested.push(r.url()));
  page.on("pageerror", (e) => pageErrors.push(e.message));
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await f?.close();
});

const row = (id: bigint, status?: string) => page.locator(`tr[data-outbox-id="${id}"]${status ? `[data-status="${status}"]` : ""}`);
const waitRow = (id: bigint, status: string) => row(id, status).waitFor({ timeout: WAIT_MS });

describe("dashboard in Chromium", () => {
  test("the service serves the page with a same-origin-only content security policy", async () => {
    const res = await fetch(`${f.t.url}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(res.headers.get("content-security-policy")).toContain("default-src 'none'");
    expect(await res.text()).toContain('src="dashboard/app.js"');
  });

  test("the page loads, is refused without a key, and streams live once a key is given", async () => {
    await page.goto(`${f.t.url}/`);
    await page.locator('#connection[data-state="refused"]').waitFor({ timeout: WAIT_MS });
    expect(await page.locator("#notice").textContent()).toContain("API key");

    await page.fill("#api-key", f.apiKey);
    await page.click('#key-form button[type="submit"]');
    await page.locator('#connection[data-state="live"]').waitFor({ timeout: WAIT_MS });
    // The key lives in this tab's sessionStorage only, and is not left in the field.
    const stored = await page.evaluate(() => ({ session: sessionStorage.getItem("email-outbox.api-key"), local: localStorage.length }));
    expect(stored).toEqual({ session: f.apiKey, local: 0 });
    expect(await page.inputValue("#api-key")).toBe("");
  });

  test("a Send made by the test appears, shows SENDING while the SMTP server holds it, then turns SENT", async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    f.sink.script = async (stage, ctx) => {
      if (stage === "data" && ctx.raw?.toString().includes("Subject: Held at the SMTP server")) await held;
      return undefined;
    };
    try {
      const { outbox } = await client.send({
        accountId: 1,
        to: ["Bob <bob@example.com>"],
        subject: "Held at the SMTP server",
        bodyText: "hi",
      });
      const id = outbox!.outboxId;
      await waitRow(id, "SENDING");
      // The row can appear from its events (committed together by the hand-off) before the page
      // has read the row's subject.
      await expect.poll(() => row(id).locator(".subject-text").textContent(), { timeout: WAIT_MS }).toBe("Held at the SMTP server");
      release();
      await waitRow(id, "SENT");
      expect(await row(id).locator(".message-id").textContent()).toBe(`<outbox-${id}-0@${DOMAIN}>`);
    } finally {
      release();
      f.sink.script = undefined;
    }
  });

  test("a failing message shows its error; the Retry button re-drives it to SENT", async () => {
    const { outbox } = await client.send({
      accountId: 1,
      to: ["carol@example.com"],
      subject: "Fails once",
      bodyText: "x",
      failureMode: FailureMode.NETWORK,
      waitForAttempt: true,
    });
    const id = outbox!.outboxId;
    expect(outbox!.status).toBe(OutboxStatus.FAILED);
    await waitRow(id, "FAILED");
    expect(await row(id).locator(".error").textContent()).toBe("simulated network timeout");
    expect(await row(id).locator(".retries").textContent()).toBe("1");
    // Every time column carries its date.
    expect(await row(id).locator(".next").textContent()).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} \(in \d+ s\)$/);
    expect(await row(id).locator(".updated").textContent()).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);

    await row(id).locator('button[data-action="retry"]').click();
    await waitRow(id, "SENT");
    expect(await row(id).locator(".error").textContent()).toBe("");
    expect(await row(id).locator('button[data-action="retry"]').isHidden()).toBe(true);
    await page.locator(".toast", { hasText: `Retry #${id}: SENT` }).waitFor({ timeout: WAIT_MS });
    expect(f.received(`<outbox-${id}-1@${DOMAIN}>`)?.parsed.subject).toBe("Fails once");
  });

  test("the Cancel button cancels a failed message after confirmation", async () => {
    const { outbox } = await client.send({
      accountId: 1,
      to: ["dave@example.com"],
      subject: "Cancelled by the operator",
      bodyText: "x",
      failureMode: FailureMode.NETWORK,
      waitForAttempt: true,
    });
    const id = outbox!.outboxId;
    await waitRow(id, "FAILED");
    page.once("dialog", (d) => void d.accept());
    await row(id).locator('button[data-action="cancel"]').click();
    await waitRow(id, "CANCELLED");
    expect((await client.getOutbox({ outboxId: id })).outbox?.status).toBe(OutboxStatus.CANCELLED);
  });

  test("several ticked rows are retried, then several cancelled, in one click each", async () => {
    const failing = async (subject: string) => {
      const { outbox } = await client.send({
        accountId: 1,
        to: ["gina@example.com"],
        subject,
        bodyText: "x",
        failureMode: FailureMode.NETWORK,
        waitForAttempt: true,
      });
      await waitRow(outbox!.outboxId, "FAILED");
      return outbox!.outboxId;
    };
    const tick = async (ids: bigint[]) => {
      for (const id of ids) await row(id).locator("input[data-select]").check();
    };

    const toRetry = [await failing("Bulk retry 1"), await failing("Bulk retry 2")];
    await tick(toRetry);
    // The count is drawn with the next frame.
    const count = () => page.locator("#selected-count").textContent();
    await expect.poll(count, { timeout: WAIT_MS }).toBe("2 selected");
    await page.click("#retry-selected");
    await Promise.all(toRetry.map((id) => waitRow(id, "SENT")));
    await page.locator(".toast", { hasText: "Retry selected: 2 done" }).waitFor({ timeout: WAIT_MS });
    await expect.poll(count, { timeout: WAIT_MS }).toBe("0 selected");

    const toCancel = [await failing("Bulk cancel 1"), await failing("Bulk cancel 2")];
    await tick(toCancel);
    page.once("dialog", (d) => void d.accept());
    await page.click("#cancel-selected");
    await Promise.all(toCancel.map((id) => waitRow(id, "CANCELLED")));
    for (const id of toCancel) expect((await client.getOutbox({ outboxId: id })).outbox?.status).toBe(OutboxStatus.CANCELLED);
  });

  test("filters by status and by account, picked from the accounts the key covers", async () => {
    const dead = await client.send({
      accountId: 2,
      to: ["erin@example.com"],
      subject: "Rejected for account 2",
      bodyText: "x",
      failureMode: FailureMode.PROVIDER,
      waitForAttempt: true,
    });
    const deadId = dead.outbox!.outboxId;
    await waitRow(deadId, "DEAD");

    await page.click('button[data-status-filter="SENT"]');
    const shown = await page.locator("tbody tr").evaluateAll((trs) => trs.map((tr) => (tr as HTMLElement).dataset.status));
    expect(shown.length).toBeGreaterThanOrEqual(2);
    expect(new Set(shown)).toEqual(new Set(["SENT"]));
    await page.click('button[data-status-filter="SENT"]');

    // The account picker lists what ListAccounts says the key covers.
    const options = await page
      .locator("#account option")
      .evaluateAll((os) => os.map((o) => [(o as HTMLOptionElement).value, o.textContent]));
    expect(options).toEqual([
      ["", "all"],
      ["1", "1 · Account 1 <sender1@example.com>"],
      ["2", "2 · Account 2 <sender2@example.com>"],
    ]);
    await page.selectOption("#account", "2");
    await page.locator('#connection[data-state="live"]').waitFor({ timeout: WAIT_MS });
    await expect
      .poll(() => page.locator("tbody tr").evaluateAll((trs) => trs.map((tr) => (tr as HTMLElement).dataset.outboxId)), {
        timeout: WAIT_MS,
      })
      .toEqual([String(deadId)]);
    await page.selectOption("#account", "");
    await expect.poll(() => page.locator("tbody tr").count(), { timeout: WAIT_MS }).toBeGreaterThan(3);
  });

  test("search finds rows by subject and by #id, server-side; Older messages pages past the newest", async () => {
    const shownIds = () => page.locator("tbody tr").evaluateAll((trs) => trs.map((tr) => (tr as HTMLElement).dataset.outboxId));
    const needles: bigint[] = [];
    for (const n of [1, 2])
      needles.push((await client.send({ accountId: 1, to: ["hay@example.com"], subject: `Needle ${n}`, bodyText: "x" })).outbox!.outboxId);
    await waitRow(needles[1]!, "SENT");

    await page.fill("#search", "NEEDLE");
    await page.click('#search-form button[type="submit"]');
    await expect.poll(shownIds, { timeout: WAIT_MS }).toEqual([String(needles[1]), String(needles[0])]);
    expect(await page.locator("#footer").textContent()).toContain("2 found for “NEEDLE”");
    await page.fill("#search", `#${needles[0]}`);
    await page.press("#search", "Enter");
    await expect.poll(shownIds, { timeout: WAIT_MS }).toEqual([String(needles[0])]);
    await page.fill("#search", "");
    await page.press("#search", "Enter");
    await expect.poll(() => page.locator("tbody tr").count(), { timeout: WAIT_MS }).toBeGreaterThan(2);

    // More rows than a page of 25: the table shows 25, and Older messages the next ones.
    const total = Number((await client.listOutbox({ pageSize: 1 })).outboxes[0]!.outboxId);
    await Promise.all(
      Array.from({ length: Math.max(0, 30 - total) }, (_, i) =>
        client.send({ accountId: 2, to: ["bulk@example.com"], subject: `Page filler ${i}`, bodyText: "x" }),
      ),
    );
    const newest = (await client.listOutbox({ pageSize: 30 })).outboxes.map((o) => String(o.outboxId));
    await page.selectOption("#page-size", "25");
    await expect.poll(shownIds, { timeout: WAIT_MS }).toEqual(newest.slice(0, 25));
    await page.click("#older");
    await expect.poll(async () => (await shownIds()).slice(0, 30), { timeout: WAIT_MS }).toEqual(newest);
    await page.selectOption("#page-size", "200");
  });

  test("a row shows its From and tags; the tag filter shows only rows with that tag, live", async () => {
    const shownIds = () => page.locator("tbody tr").evaluateAll((trs) => trs.map((tr) => (tr as HTMLElement).dataset.outboxId));
    const tagged = (
      await client.send({
        accountId: 1,
        to: ["t@example.com"],
        subject: "Tagged",
        bodyText: "x",
        tags: { campaign: "dash-1", tier: "gold" },
      })
    ).outbox!;
    await waitRow(tagged.outboxId, "SENT");
    await expect
      .poll(() => row(tagged.outboxId).locator(".from").textContent(), { timeout: WAIT_MS })
      .toBe("from Account 1 <sender1@example.com> · relay default · campaign=dash-1 tier=gold");

    await page.fill("#tag", "campaign=dash-1");
    await page.press("#tag", "Enter");
    await expect.poll(shownIds, { timeout: WAIT_MS }).toEqual([String(tagged.outboxId)]);
    // A new row with the tag arrives through the filtered stream; one without it does not.
    await client.send({ accountId: 1, to: ["t@example.com"], subject: "Untagged", bodyText: "x" });
    const second = (
      await client.send({ accountId: 2, to: ["t@example.com"], subject: "Tagged too", bodyText: "x", tags: { campaign: "dash-1" } })
    ).outbox!;
    await waitRow(second.outboxId, "SENT");
    await expect.poll(shownIds, { timeout: WAIT_MS }).toEqual([String(second.outboxId), String(tagged.outboxId)]);
    await page.fill("#tag", "");
    await page.press("#tag", "Enter");
    await expect.poll(() => page.locator("tbody tr").count(), { timeout: WAIT_MS }).toBeGreaterThan(2);
  });

  test("a bounce shows on its row; the address is listed as suppressed, new mail to it is SUPPRESSED, and Remove takes it off", async () => {
    const mailbox = createClient(MailboxService, createEmailTransport({ baseUrl: f.t.url, apiKey: f.apiKey }));
    const sent = (await client.send({ accountId: 1, to: ["gone@example.org"], subject: "Bounces", bodyText: "x", waitForAttempt: true }))
      .outbox!;
    await waitRow(sent.outboxId, "SENT");
    await mailbox.ingestMessage({ accountId: 1, raw: fixture("postfix-dsn", { rcpt: "gone@example.org", messageId: sent.messageId }) });
    const report = row(sent.outboxId).locator('.report[data-address="gone@example.org"]');
    await expect.poll(() => report.textContent(), { timeout: WAIT_MS }).toBe("BOUNCED gone@example.org user_unknown");
    expect(await report.locator(".reason-chip").getAttribute("title")).toContain("User unknown");

    await page.selectOption("#account", "1");
    const listed = page.locator('#suppressions-table tr[data-address="gone@example.org"]');
    await listed.waitFor({ timeout: WAIT_MS });
    expect(await listed.locator(".reason").textContent()).toBe("hard bounce");
    expect(await listed.locator(".bounce-reason").textContent()).toBe("user_unknown");
    expect(await listed.locator(".error").textContent()).toContain("5.1.1");
    const again = (await client.send({ accountId: 1, to: ["gone@example.org"], subject: "Bounces again", bodyText: "x" })).outbox!;
    await waitRow(again.outboxId, "SUPPRESSED");

    await listed.locator("button[data-remove]").click();
    await listed.waitFor({ state: "detached", timeout: WAIT_MS });
    expect((await mailbox.listSuppressions({ accountId: 1 })).suppressions).toEqual([]);
    await page.selectOption("#account", "");
  });

  test("a sender-side refusal shows its reason chip, leaves the address unsuppressed and raises the account's banner; the panel filters by bounce reason", async () => {
    const mailbox = createClient(MailboxService, createEmailTransport({ baseUrl: f.t.url, apiKey: f.apiKey }));
    const sendAndBounce = async (rcpt: string, name: "postfix-blocked" | "gmail-dsn") => {
      const sent = (await client.send({ accountId: 1, to: [rcpt], subject: `Refused ${name}`, bodyText: "x", waitForAttempt: true }))
        .outbox!;
      await waitRow(sent.outboxId, "SENT");
      await mailbox.ingestMessage({ accountId: 1, raw: fixture(name, { rcpt, messageId: sent.messageId }) });
      return sent.outboxId;
    };
    await page.selectOption("#account", "1");
    const id = await sendAndBounce("vip@customer.example", "postfix-blocked");
    const report = row(id).locator('.report[data-address="vip@customer.example"]');
    await expect.poll(() => report.textContent(), { timeout: WAIT_MS }).toBe("BOUNCED vip@customer.example blocked");
    const chip = report.locator(".reason-chip");
    expect(await chip.getAttribute("class")).toContain("rc-sender");
    expect(await chip.getAttribute("title")).toContain("blocked using zen.spamhaus.org");

    // The account's banner, read again after the stream reported the bounce.
    const banner = page.locator('#refusals p[data-account-id="1"]');
    await expect
      .poll(() => banner.textContent(), { timeout: WAIT_MS })
      .toMatch(/^Mail from account 1 is being refused: blocked ×1 \(customer\.example\) — latest: .*blocked using zen\.spamhaus\.org/);
    // Not on the list; a reload reads the chip from ListOutbox alone.
    expect((await mailbox.listSuppressions({ accountId: 1, query: "vip" })).suppressions).toEqual([]);
    await page.reload();
    await page.locator('#connection[data-state="live"]').waitFor({ timeout: WAIT_MS });
    await page.selectOption("#account", "1");
    await expect.poll(() => row(id).locator(".report .reason-chip").textContent(), { timeout: WAIT_MS }).toBe("blocked");
    await banner.waitFor({ timeout: WAIT_MS });
    // Account 2 had no refusals: no banner.
    await page.selectOption("#account", "2");
    await expect.poll(() => page.locator("#refusals").isHidden(), { timeout: WAIT_MS }).toBe(true);

    // The suppression panel, filtered by bounce reason.
    await page.selectOption("#account", "1");
    await sendAndBounce("dead@example.org", "gmail-dsn");
    await mailbox.addSuppression({ accountId: 1, address: "by-hand@example.org" });
    const listed = () =>
      page.locator("#suppressions-table tbody tr").evaluateAll((trs) => trs.map((tr) => (tr as HTMLElement).dataset.address));
    await page.click("#suppressions-refresh");
    await expect.poll(listed, { timeout: WAIT_MS }).toEqual(["by-hand@example.org", "dead@example.org"]);
    await page.selectOption("#suppressions-reason", "user_unknown");
    await expect.poll(listed, { timeout: WAIT_MS }).toEqual(["dead@example.org"]);
    await page.selectOption("#suppressions-reason", "none");
    await expect.poll(listed, { timeout: WAIT_MS }).toEqual(["by-hand@example.org"]);
    await page.selectOption("#suppressions-reason", "");
    await mailbox.removeSuppression({ accountId: 1, addresses: ["dead@example.org", "by-hand@example.org"] });
    await page.selectOption("#account", "");
  });

  test("View opens one message: addresses, timeline with the attempt's error, bodies, attachments, headers; the HTML body is sandboxed and its script does not run", async () => {
    const { outbox } = await client.send({
      accountId: 1,
      to: ["Bob <bob@example.com>"],
      cc: ["carol@example.com"],
      subject: "Detail view",
      bodyText: "The text body.",
      bodyHtml:
        '<h1 id="greeting">Hello from HTML</h1><p id="ran"></p>' +
        '<script>document.getElementById("ran").textContent = "script ran"; parent.document.title = "pwned";</script>' +
        '<img src="http://198.51.100.7/pixel.png" alt="">',
      attachments: [{ filename: "report.pdf", contentType: "application/pdf", content: Buffer.from("%PDF-1.4 tiny") }],
      failureMode: FailureMode.NETWORK,
      waitForAttempt: true,
    });
    const id = outbox!.outboxId;
    await client.retryOutbox({ outboxId: id, force: true });
    await waitRow(id, "SENT");

    await row(id).locator("button[data-view]").click();
    const dialog = page.locator(`#detail[open][data-outbox-id="${id}"]`);
    await dialog.waitFor({ timeout: WAIT_MS });
    const field = (name: string) => dialog.locator(`dd[data-field="${name}"]`).textContent();
    expect(await field("From")).toBe("Account 1 <sender1@example.com>");
    expect(await field("To")).toBe('"Bob" <bob@example.com>');
    expect(await field("Cc")).toBe("carol@example.com");
    expect(await dialog.locator(".timeline li").evaluateAll((lis) => lis.map((li) => (li as HTMLElement).dataset.kind))).toEqual([
      "CREATED",
      "SENDING",
      "FAILED",
      "RETRIED",
      "SENT",
    ]);
    expect(await dialog.locator('.timeline li[data-kind="FAILED"] .error').textContent()).toBe("simulated network timeout");
    expect(await dialog.locator(".body-text").textContent()).toBe("The text body.");
    expect(await dialog.locator(".attachments li").textContent()).toBe("report.pdf application/pdf · 13 B");
    const headers = await dialog.locator(".headers").textContent();
    expect(headers).toContain(`Message-ID: <outbox-${id}-1@${DOMAIN}>`);
    expect(headers).toContain("Subject: Detail view");

    // The HTML is in a frame with an empty sandbox (no scripts, opaque origin) and a policy of its own…
    const frame = dialog.locator("iframe.body-html");
    expect(await frame.getAttribute("sandbox")).toBe("");
    expect(await frame.getAttribute("srcdoc")).toContain('http-equiv="Content-Security-Policy" content="default-src \'none\'');
    // The remote image is left out before the browser sees the HTML: nothing could fetch it.
    expect(await frame.getAttribute("srcdoc")).not.toContain("198.51.100.7");
    expect(await page.frameLocator("#detail iframe.body-html").locator('img[alt=""]').count()).toBe(1);
    const body = page.frameLocator("#detail iframe.body-html").locator("body");
    expect(await body.locator("#greeting").textContent()).toBe("Hello from HTML");
    // …so its script did not run, and none of it is in the page itself.
    expect(await body.locator("#ran").textContent()).toBe("");
    expect(await page.title()).toBe("Outbox · email-outbox");
    expect(await page.locator("#greeting").count()).toBe(0);
    expect(await page.locator("script").count()).toBe(1);

    await mkdir("test-results", { recursive: true });
    await page.screenshot({ path: DETAIL_SCREENSHOT });
    await page.click("#detail-close");
    await page.locator("#detail:not([open])").waitFor({ state: "attached", timeout: WAIT_MS });
  });

  test("an expired message has its own chip; the detail view shows its expiry, and a superseded one its collapse key and successor", async () => {
    const expiring = (
      await client.send({
        accountId: 2,
        to: ["erin@example.com"],
        subject: "Code that expires",
        bodyText: "123456",
        failureMode: FailureMode.NETWORK,
        waitForAttempt: true,
        expireAt: timestampFromMs(Date.now() + 2_000),
      })
    ).outbox!;
    expect(expiring.status).toBe(OutboxStatus.FAILED);
    // Its retry is due 10 s on; it falls due at its expiry instead, and the sender's poll expires it.
    await waitRow(expiring.outboxId, "EXPIRED");
    const chip = page.locator('#status-filters button[data-status-filter="EXPIRED"]');
    expect(await chip.getAttribute("class")).toContain("s-expired");
    expect(Number(await chip.locator(".chip-count").textContent())).toBeGreaterThan(0);

    const later = timestampFromMs(Date.now() + 3_600_000);
    const older = (
      await client.send({
        accountId: 2,
        to: ["erin@example.com"],
        subject: "Order 9: packed",
        bodyText: "x",
        collapseKey: "order-9",
        sendAt: later,
      })
    ).outbox!;
    const newer = (
      await client.send({
        accountId: 2,
        to: ["erin@example.com"],
        subject: "Order 9: shipped",
        bodyText: "x",
        collapseKey: "order-9",
        sendAt: later,
      })
    ).outbox!;
    await waitRow(older.outboxId, "CANCELLED");

    const open = async (id: bigint) => {
      await row(id).locator("button[data-view]").click();
      const dialog = page.locator(`#detail[open][data-outbox-id="${id}"]`);
      await dialog.waitFor({ timeout: WAIT_MS });
      return { dialog, field: (name: string) => dialog.locator(`dd[data-field="${name}"]`).textContent() };
    };
    const a = await open(expiring.outboxId);
    expect(await a.dialog.locator('[data-part="status"]').textContent()).toBe("EXPIRED");
    expect(await a.field("Expires")).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
    expect(await a.dialog.locator(".timeline li").evaluateAll((lis) => lis.map((li) => (li as HTMLElement).dataset.kind))).toEqual([
      "CREATED",
      "SENDING",
      "FAILED",
      "EXPIRED",
    ]);
    await page.click("#detail-close");

    const b = await open(older.outboxId);
    expect(await b.field("Collapse key")).toBe("order-9");
    expect(await b.field("Superseded by")).toBe(`#${newer.outboxId}`);
    expect(await b.dialog.locator('.timeline li[data-kind="CANCELLED"] .superseded').textContent()).toBe(
      `superseded by #${newer.outboxId}`,
    );
    await page.click("#detail-close");
    await page.locator("#detail:not([open])").waitFor({ state: "attached", timeout: WAIT_MS });
    await client.cancelOutbox({ outboxId: newer.outboxId });
  });

  test("the chart shows sent and failed per minute of the last hour, as the server counts them, per account", async () => {
    const chart = () =>
      page.locator("#activity-legend span").evaluateAll((spans) => spans.map((s) => Number((s as HTMLElement).dataset.total)));
    const server = async (accountId: number) => {
      const { minutes } = await client.getOutboxActivity({ accountId });
      return [minutes.reduce((n, m) => n + m.sent, 0), minutes.reduce((n, m) => n + m.failed, 0)];
    };
    // The page reads the counts again a few seconds after an outcome; the server caches them 5 s.
    // Poll until page and server agree on counts that include this file's messages.
    const settled = async (accountId: number, ok: (sent: number, failed: number) => boolean) => {
      const [shown, counted] = await Promise.all([chart(), server(accountId)]);
      return JSON.stringify(shown) === JSON.stringify(counted) && ok(shown[0]!, shown[1]!);
    };
    await expect.poll(() => settled(0, (s, f) => s > 5 && f > 5), { timeout: 30_000 }).toBe(true);
    const [sent, failed] = await chart();
    expect(await page.locator("#activity-chart g.minute").count()).toBe(60);
    // This minute (or the one before, if it just turned) has bars of both kinds.
    expect(await page.locator("#activity-chart .bar-sent").count()).toBeGreaterThan(0);
    expect(await page.locator("#activity-chart .bar-failed").count()).toBeGreaterThan(0);

    // Account 2 alone: its rejected message, and fewer sent.
    await page.selectOption("#account", "2");
    await expect.poll(() => settled(2, (s, f) => s < sent! && f >= 1 && f < failed!), { timeout: 30_000 }).toBe(true);
    await page.selectOption("#account", "");
    await expect.poll(() => settled(0, (s, f) => s === sent && f === failed), { timeout: 30_000 }).toBe(true);
  });

  test("screenshot, and the page never asked anything of another origin", async () => {
    // One message left failing, so the picture shows every kind of row.
    const { outbox } = await client.send({
      accountId: 2,
      to: ["frank@example.com"],
      subject: "Still failing",
      bodyText: "x",
      failureMode: FailureMode.NETWORK,
      waitForAttempt: true,
    });
    await waitRow(outbox!.outboxId, "FAILED");
    await mkdir("test-results", { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    for (const tr of await page
      .locator("tbody tr")
      .all()
      .then((trs) => trs.slice(0, 2)))
      await tr.locator("input[data-select]").check();
    await expect.poll(() => page.locator("#selected-count").textContent(), { timeout: WAIT_MS }).toBe("2 selected");
    await page.screenshot({ path: README_SCREENSHOT });
    const origin = new URL(f.t.url).origin;
    expect(requested.filter((u) => !u.startsWith(`${origin}/`) && !u.startsWith("data:"))).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
