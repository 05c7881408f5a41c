// RenderTemplate on the real server: a stored or inline template rendered as a Send would, with
// every problem listed (missing paths by their full path, limits, the rules of the rendered
// subject), escaping in HTML only, layouts, and the text derived from the HTML.
import { afterAll, beforeAll, expect, test } from "vitest";
import type { JsonObject } from "@bufbuild/protobuf";
import { Code, createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { TemplateService } from "../../gen/email/v1/template_service_pb.js";
import { sinkAccount, startTestApp, type TestApp } from "../helpers/app.js";
import { refusal } from "../helpers/refusal.js";
import { countRows } from "../helpers/tables.js";

let t: TestApp;
let c: Client<typeof TemplateService>;

beforeAll(async () => {
  t = await startTestApp({ label: "templates_render", background: false, json: { accounts: [sinkAccount(1, 2525)] } });
  c = createClient(TemplateService, createGrpcTransport({ baseUrl: t.url }));
});
afterAll(async () => {
  await t?.close();
});

const inline = (content: Record<string, unknown>, data: JsonObject = {}) =>
  c.renderTemplate({ accountId: 1, source: { case: "inline", value: { subject: "s", text: "", html: "", ...content } }, data });

test("every missing path is named, in every part, and nothing is sent", async () => {
  const before = await countRows(t.db.url);
  const res = await inline(
    {
      subject: "Order {{order.id}} for {{customer.name}}",
      html: "{{#each order.items}}<li>{{name}}: {{formatNumber price style='currency' currency='EUR'}}</li>{{/each}}",
      text: "{{#each order.items as |item|}}{{item.name}} {{item.price}}\n{{/each}}{{order.note.text}}",
    },
    { order: { id: 7, items: [{ name: "a", price: 1 }, { name: "b", price: 2 }, { name: "c" }], note: null } },
  );
  expect(res.problems.map((p) => [p.field, p.reason, p.path])).toEqual([
    ["data", "TEMPLATE_DATA_MISSING", "customer"],
    ["data", "TEMPLATE_DATA_MISSING", "order.items[2].price"],
    ["data", "TEMPLATE_DATA_MISSING", "order.items[2].price"],
    ["data", "TEMPLATE_DATA_MISSING", "order.note.text"],
  ]);
  expect(res.problems[1]!.message).toBe("the data has no order.items[2].price (read by the html)");
  // What could be rendered is, the missing values empty.
  expect(res.subject).toBe("Order 7 for ");
  expect(res.html).toContain("<li>b: €2.00</li><li>c: ");
  expect(await countRows(t.db.url)).toEqual(before);
});

test("values are escaped in html, not in subject or text; data is never evaluated as a template", async () => {
  const hostile = '<script>alert(1)</script> {{constructor}} & "q"';
  const res = await inline(
    { subject: "Re: {{x}}", html: '<p title="{{x}}">{{x}}</p>{{{trusted}}}', text: "{{x}}" },
    { x: hostile, trusted: "<b>ok</b>" },
  );
  expect(res.problems).toEqual([]);
  const escaped = "&lt;script&gt;alert(1)&lt;/script&gt; {{constructor}} &amp; &quot;q&quot;";
  expect(res.html).toBe(`<p title="${escaped}">${escaped}</p><b>ok</b>`);
  expect(res.subject).toBe(`Re: ${hostile}`);
  expect(res.text).toBe(hostile);
});

test("a subject that breaks the header rules is a problem, as a plain Send would refuse it", async () => {
  const res = await inline({ subject: "Hi {{name}}", text: "t" }, { name: "a\r\nBcc: victim@example.com" });
  expect(res.problems.map((p) => [p.field, p.reason])).toEqual([["subject", "HEADER_INJECTION"]]);
  const long = await inline({ subject: "{{name}}", text: "t" }, { name: "x".repeat(1200) });
  expect(long.problems.map((p) => [p.field, p.reason])).toEqual([["subject", "SUBJECT_TOO_LONG"]]);
});

test("prototypes, helpers' internals and the environment are out of reach", async () => {
  const res = await inline(
    { subject: "{{constructor.name}}", text: "{{__proto__}} {{name.length}} {{lookup this 'toString'}} {{@root.constructor}}" },
    { name: "n" },
  );
  expect(res.problems.map((p) => [p.reason, p.path])).toEqual(
    ["constructor", "__proto__", "name.length", "toString", "constructor"].map((p) => ["TEMPLATE_DATA_MISSING", p]),
  );
  const helpers = await inline({ subject: "s", text: "{{log 'x'}} {{process.env.HOME}} {{> partial}}" });
  expect(helpers.problems.map((p) => p.reason)).toEqual(["TEMPLATE_SYNTAX"]);
});

test("a render that loops too long or grows too large stops with a clear reason", async () => {
  const items = Array.from({ length: 1000 }, (_, i) => i);
  const loops = await inline(
    { subject: "s", text: "{{#each items}}{{#each @root.items}}{{#each @root.items}}.{{/each}}{{/each}}{{/each}}" },
    { items },
  );
  expect(loops.problems.map((p) => [p.field, p.reason])).toEqual([["text", "TEMPLATE_RENDER_LIMIT"]]);
  const big = await inline(
    { subject: "s", text: "{{#each items}}{{#each @root.items}}{{@root.blob}}{{/each}}{{/each}}" },
    { items: items.slice(0, 100), blob: "x".repeat(100_000) },
  );
  expect(big.problems.map((p) => [p.field, p.reason])).toEqual([["text", "TEMPLATE_OUTPUT_TOO_LARGE"]]);
  expect(await refusal(inline({ subject: "s", text: "t" }, { blob: "x".repeat(300_000) }))).toMatchObject({
    code: Code.InvalidArgument,
    reason: "TEMPLATE_DATA_TOO_LARGE",
  });
  const nest = (n: number): JsonObject => (n === 0 ? {} : { a: nest(n - 1) });
  expect((await inline({ subject: "s", text: "t" }, nest(31))).problems).toEqual([]);
  expect(await refusal(inline({ subject: "s", text: "t" }, nest(40)))).toMatchObject({
    reason: "TEMPLATE_DATA_TOO_LARGE",
    message: expect.stringContaining("32 deep"),
  });
  // Deriving text costs far more per byte than rendering: past 512 KiB of HTML the template must give its text.
  const wide = await inline(
    { subject: "s", html: `{{#each items}}<li>${"<b>cell</b> ".repeat(20)}</li>{{/each}}` },
    { items: items.concat(items, items) },
  );
  expect(wide.problems.map((p) => [p.field, p.reason])).toEqual([["text", "TEMPLATE_OUTPUT_TOO_LARGE"]]);
  expect(wide.html.length).toBeGreaterThan(512 * 1024);
});

test("helpers: numbers and dates by locale, default for null and empty values", async () => {
  const res = await inline(
    {
      subject: "{{default nickname 'friend'}}",
      text: "{{formatNumber total locale='de-DE' style='currency' currency='EUR'}}|{{formatDate when locale='fr-FR' dateStyle='long'}}|{{formatDate ms timeZone='Asia/Tokyo' dateStyle='short' timeStyle='short'}}|{{default note 'none'}}|{{#if flag}}yes{{else}}no{{/if}}",
    },
    { nickname: null, total: 1234.5, when: "2024-03-01T10:00:00Z", ms: 0, note: "", flag: false },
  );
  expect(res.problems).toEqual([]);
  expect(res.subject).toBe("friend");
  const tokyo = new Intl.DateTimeFormat("en-US", { timeZone: "Asia/Tokyo", dateStyle: "short", timeStyle: "short" }).format(0);
  const euros = new Intl.NumberFormat("de-DE", { style: "currency", currency: "EUR" }).format(1234.5);
  expect(res.text).toBe(`${euros}|1 mars 2024|${tokyo}|none|no`);
  const bad = await inline(
    { subject: "s", text: "{{formatNumber x}} {{formatDate x}} {{formatNumber 1 locale='no such'}}" },
    { x: "soon" },
  );
  expect(bad.problems.map((p) => p.reason)).toEqual(["TEMPLATE_HELPER_INVALID"]);
});

test("a stored template renders with its layout; html-only templates get a text part with links kept", async () => {
  await c.createTemplate({
    accountId: 1,
    name: "shell",
    content: { subject: "", html: "<header>{{brand}}</header>{{{body}}}<footer>Bye</footer>", text: "" },
  });
  await c.createTemplate({
    accountId: 1,
    name: "welcome",
    content: {
      subject: "Welcome {{name}}",
      html: '<h1>Hi {{name}}</h1><p>Open <a href="https://example.com/start?u={{id}}">your account</a>.</p>',
      text: "",
      layout: "shell",
    },
  });
  const res = await c.renderTemplate({
    accountId: 1,
    source: { case: "stored", value: { name: "welcome" } },
    data: { name: "Zoë", id: 42, brand: "ACME" },
  });
  expect(res.problems).toEqual([]);
  expect(res.version).toBe(1);
  expect(res.html).toBe(
    '<header>ACME</header><h1>Hi Zoë</h1><p>Open <a href="https://example.com/start?u=42">your account</a>.</p><footer>Bye</footer>',
  );
  expect(res.text).toBe("ACME\n\n\nHi Zoë\n\nOpen your account [https://example.com/start?u=42].\n\nBye");
  expect(await refusal(c.renderTemplate({ accountId: 1, source: { case: "stored", value: { name: "nope" } } }))).toMatchObject({
    code: Code.NotFound,
    reason: "TEMPLATE_NOT_FOUND",
  });
  // An inline template may use a stored layout, as the editor's preview does.
  const preview = await inline({ subject: "x", html: "<i>{{v}}</i>", layout: "shell" }, { v: 1, brand: "B" });
  expect(preview.html).toBe("<header>B</header><i>1</i><footer>Bye</footer>");
});

test("an MJML template renders its compiled HTML, and an MJML layout wraps a plain fragment", async () => {
  const mjml = (inner: string) => `<mjml><mj-body><mj-section><mj-column>${inner}</mj-column></mj-section></mj-body></mjml>`;
  await c.createTemplate({
    accountId: 1,
    name: "mj-shell",
    content: { subject: "", html: mjml("<mj-text>Top {{brand}}</mj-text><mj-raw>{{{body}}}</mj-raw>"), text: "" },
  });
  await c.createTemplate({
    accountId: 1,
    name: "mj-page",
    content: { subject: "Hi", html: mjml('<mj-button href="https://x.example/{{id}}">Go {{name}}</mj-button>'), text: "" },
  });
  const page = await c.renderTemplate({
    accountId: 1,
    source: { case: "stored", value: { name: "mj-page" } },
    data: { id: 7, name: "<Zoë>" },
  });
  expect(page.problems).toEqual([]);
  expect(page.html).toMatch(/^<!doctype html>/);
  expect(page.html).toContain('href="https://x.example/7"');
  expect(page.html).toContain("Go &lt;Zoë&gt;");
  expect(page.text).toContain("Go <Zoë> [https://x.example/7]");
  const framed = await inline({ subject: "s", html: "<p id=inner>{{v}}</p>", layout: "mj-shell" }, { v: "in", brand: "ACME" });
  expect(framed.problems).toEqual([]);
  expect(framed.html).toMatch(/^<!doctype html>[\s\S]*Top ACME[\s\S]*<p id=inner>in<\/p>/);
});
