// TemplateService on the real server: versions are immutable, names are checked and unique per
// account, lists page, every problem of a save is reported with its line, layouts are one level
// deep, deletes stop sends, and keys need the templates scope to save and read to look.
import { afterAll, beforeAll, expect, test } from "vitest";
import { Code } from "@connectrpc/connect";
import { ErrorInfoSchema, BadRequestSchema } from "../../gen/google/rpc/error_details_pb.js";
import { TemplateService } from "../../gen/email/v1/template_service_pb.js";
import { sinkAccount, startTestApp, type TestApp } from "../helpers/app.js";
import { refusal } from "../helpers/refusal.js";
import { grpcJsClient } from "../helpers/clients.js";
import { keyedClient, testKey } from "../security/keys.js";
import { ConnectError } from "@connectrpc/connect";

const admin = testKey("admin", "*");
const reader = testKey("reader", [1], ["read"]);
const writer = testKey("writer", [1], ["templates"]);
const other = testKey("other", [2]);
let t: TestApp;

beforeAll(async () => {
  t = await startTestApp({
    label: "templates_crud",
    background: false,
    json: { accounts: [sinkAccount(1, 2525), sinkAccount(2, 2525)], api_keys: [admin, reader, writer, other].map((k) => k.entry) },
  });
});
afterAll(async () => {
  await t?.close();
});

const as = (key = admin.key, protocol: "gRPC" | "Connect JSON" = "gRPC") => keyedClient(TemplateService, t.url, key, protocol);
const content = (extra: Record<string, unknown> = {}) => ({ subject: "Hello {{name}}", html: "<p>Hi {{name}}</p>", text: "", ...extra });

/** Every field violation of a refusal: field and description. */
async function violations(
  call: Promise<unknown>,
): Promise<{ reason?: string; list: { field: string; reason: string; description: string }[] }> {
  try {
    await call;
  } catch (e) {
    const err = ConnectError.from(e);
    const list = err
      .findDetails(BadRequestSchema)
      .flatMap((b) => b.fieldViolations.map((v) => ({ field: v.field, reason: v.reason, description: v.description })));
    return { reason: err.findDetails(ErrorInfoSchema)[0]?.reason, list };
  }
  throw new Error("expected a refusal");
}

test("a new version leaves the old one readable; Get returns the latest unless one is named", async () => {
  const c = as();
  const v1 = await c.createTemplate({
    accountId: 1,
    name: "receipt",
    content: content({ description: "first", sampleData: { name: "Ann" } }),
  });
  expect(v1.template).toMatchObject({ accountId: 1, name: "receipt", version: 1, latestVersion: 1, mjml: false });
  expect(v1.template!.content!.sampleData).toEqual({ name: "Ann" });
  const v2 = await c.updateTemplate({
    accountId: 1,
    name: "receipt",
    content: content({ subject: "Receipt for {{name}}", description: "second" }),
  });
  expect(v2.template).toMatchObject({ version: 2, latestVersion: 2 });
  const latest = await c.getTemplate({ accountId: 1, name: "receipt" });
  expect(latest.template!.content!.subject).toBe("Receipt for {{name}}");
  const old = await c.getTemplate({ accountId: 1, name: "receipt", version: 1 });
  expect(old.template).toMatchObject({ version: 1, latestVersion: 2 });
  expect(old.template!.content).toMatchObject({ subject: "Hello {{name}}", description: "first" });
  expect(await refusal(c.getTemplate({ accountId: 1, name: "receipt", version: 3 }))).toMatchObject({
    code: Code.NotFound,
    reason: "TEMPLATE_NOT_FOUND",
  });
  const versions = await c.listTemplateVersions({ accountId: 1, name: "receipt" });
  expect(versions.versions.map((v) => [v.version, v.description])).toEqual([
    [2, "second"],
    [1, "first"],
  ]);
});

test("names are 1-64 of A-Za-z0-9._- and unique per account; another account may use the same name", async () => {
  const c = as();
  for (const name of ["", "a b", "x".repeat(65), "ümlaut", "a/b"]) {
    expect(await refusal(c.createTemplate({ accountId: 1, name, content: content() }))).toMatchObject({
      code: Code.InvalidArgument,
      reason: "TEMPLATE_NAME_INVALID",
    });
  }
  await c.createTemplate({ accountId: 1, name: "A-z_0.9", content: content() });
  await c.createTemplate({ accountId: 1, name: "x".repeat(64), content: content() });
  expect(await refusal(c.createTemplate({ accountId: 1, name: "A-z_0.9", content: content() }))).toMatchObject({
    code: Code.AlreadyExists,
    reason: "TEMPLATE_EXISTS",
  });
  // Case matters: a different name.
  await c.createTemplate({ accountId: 1, name: "a-Z_0.9", content: content() });
  await c.createTemplate({ accountId: 2, name: "A-z_0.9", content: content() });
  expect(await refusal(c.updateTemplate({ accountId: 1, name: "never-made", content: content() }))).toMatchObject({
    code: Code.NotFound,
    reason: "TEMPLATE_NOT_FOUND",
  });
});

test("a save reports every problem at once, each with its field and line", async () => {
  const { reason, list } = await violations(
    as().createTemplate({
      accountId: 1,
      name: "broken",
      content: { subject: "Hi {{#if x}}", html: "<p>\n{{> header}}\n</p>", text: "line one\n{{shout name}}" },
    }),
  );
  expect(reason).toBe("TEMPLATE_SYNTAX");
  expect(list.map((v) => v.field)).toEqual(["content.subject", "content.html", "content.text"]);
  expect(list[1]!.description).toContain("line 2");
  expect(list[1]!.description).toContain("partials are not supported");
  expect(list[2]!.description).toMatch(/line 2.*unknown helper shout/);
  const empty = await violations(as().createTemplate({ accountId: 1, name: "empty", content: { subject: "s", html: " ", text: "" } }));
  expect(empty.reason).toBe("TEMPLATE_EMPTY");
  const big = await violations(
    as().createTemplate({ accountId: 1, name: "big", content: { subject: "s".repeat(5000), html: "x".repeat(600_000), text: "t" } }),
  );
  expect(big.list.map((v) => [v.field, v.reason])).toEqual([
    ["content.subject", "TEMPLATE_TOO_LARGE"],
    ["content.html", "TEMPLATE_TOO_LARGE"],
  ]);
  const header = await violations(
    as().createTemplate({ accountId: 1, name: "header", content: content({ subject: "a\r\nBcc: x@example.com" }) }),
  );
  expect(header.list.map((v) => [v.field, v.reason])).toEqual([["content.subject", "HEADER_INJECTION"]]);
});

test("MJML is compiled when saved; its errors come back with their lines, and mj-include is refused", async () => {
  const c = as();
  const mjml = `<mjml>
  <mj-body>
    <mj-section><mj-column>
      <mj-text>Hello {{name}}</mj-text>
      <mj-button href="{{url}}">Open</mj-button>
    </mj-column></mj-section>
  </mj-body>
</mjml>`;
  const saved = await c.createTemplate({ accountId: 1, name: "mjml-ok", content: content({ html: mjml }) });
  expect(saved.template!.mjml).toBe(true);
  expect(saved.template!.content!.html).toBe(mjml);
  const bad = mjml
    .replace("<mj-button", "<mj-buton")
    .replace("</mj-button>", "</mj-buton>")
    .replace("<mj-text>", '<mj-text color="nocolor">');
  const { reason, list } = await violations(c.createTemplate({ accountId: 1, name: "mjml-bad", content: content({ html: bad }) }));
  expect(reason).toBe("TEMPLATE_MJML_INVALID");
  expect(list.map((v) => v.description)).toEqual(
    expect.arrayContaining([
      expect.stringMatching(/^content\.html: line 4: .*color/),
      expect.stringMatching(/^content\.html: line 5: .*mj-buton/),
    ]),
  );
  const huge = await violations(
    c.createTemplate({ accountId: 1, name: "mjml-huge", content: content({ html: mjml.replace("Hello", "x".repeat(140 * 1024)) }) }),
  );
  expect(huge.list).toEqual([expect.objectContaining({ field: "content.html", reason: "TEMPLATE_TOO_LARGE" })]);
  const include = await violations(
    c.createTemplate({
      accountId: 1,
      name: "mjml-include",
      content: content({ html: `<mjml><mj-body>\n<mj-include path="/etc/passwd" />\n</mj-body></mjml>` }),
    }),
  );
  expect(include.list).toEqual([
    expect.objectContaining({ reason: "TEMPLATE_MJML_INVALID", description: expect.stringMatching(/line 2: mj-include is not supported/) }),
  ]);
});

test("layouts are one level deep, checked at save, and a layout in use cannot be deleted", async () => {
  const c = as();
  await c.createTemplate({
    accountId: 1,
    name: "frame",
    content: { subject: "", html: "<div class=frame>{{{body}}}</div>", text: "--\n{{{body}}}\n--" },
  });
  await c.createTemplate({ accountId: 1, name: "no-body", content: { subject: "", html: "<div>nothing placed</div>", text: "" } });
  await c.createTemplate({ accountId: 1, name: "outer", content: { subject: "", html: "<main>{{{ body }}}</main>", text: "" } });
  await c.createTemplate({ accountId: 1, name: "framed", content: content({ layout: "frame" }) });
  const refuse = async (name: string, extra: Record<string, unknown>, message: RegExp, update = false) => {
    const call = update
      ? c.updateTemplate({ accountId: 1, name, content: content(extra) })
      : c.createTemplate({ accountId: 1, name, content: content(extra) });
    const r = await refusal(call);
    expect(r).toMatchObject({ code: Code.InvalidArgument, reason: "TEMPLATE_LAYOUT_INVALID" });
    expect(r.message).toMatch(message);
  };
  await refuse("two-levels", { layout: "framed" }, /framed has a layout itself/);
  await refuse("missing-layout", { layout: "nowhere" }, /no template named nowhere/);
  await refuse("self", { layout: "self" }, /own layout/);
  await refuse("placed-nowhere", { layout: "no-body" }, /does not place the content/);
  // The layout itself may not gain a layout, nor stop placing the body, while it is used.
  await refuse("frame", { html: "{{{body}}}", layout: "outer" }, /frame is the layout of framed/, true);
  await refuse("frame", { html: "<div>gone</div>" }, /must place the content/, true);
  expect(await refusal(c.deleteTemplate({ accountId: 1, name: "frame" }))).toMatchObject({
    code: Code.FailedPrecondition,
    reason: "TEMPLATE_IN_USE",
  });
  await c.updateTemplate({ accountId: 1, name: "framed", content: content() });
  await c.deleteTemplate({ accountId: 1, name: "frame" });
  // MJML can be a layout, not have one.
  await refuse("mjml-framed", { html: "<mjml><mj-body></mj-body></mjml>", layout: "outer" }, /MJML/);
});

test("ListTemplates pages in name order; a deleted template is gone until created again, with its next version", async () => {
  const c = as();
  for (const n of ["page-c", "page-a", "page-b", "page-d", "page-e"])
    await c.createTemplate({ accountId: 2, name: n, content: content({ description: n }) });
  const names: string[] = [];
  let token = "";
  for (let i = 0; i < 10; i++) {
    const page = await c.listTemplates({ accountId: 2, pageSize: 2, pageToken: token });
    expect(page.templates.length).toBeLessThanOrEqual(2);
    names.push(...page.templates.map((x) => x.name));
    token = page.nextPageToken;
    if (!token) break;
  }
  expect(names).toEqual(["A-z_0.9", "page-a", "page-b", "page-c", "page-d", "page-e"]);
  await c.deleteTemplate({ accountId: 2, name: "page-b" });
  expect((await c.listTemplates({ accountId: 2 })).templates.map((x) => x.name)).not.toContain("page-b");
  expect(await refusal(c.getTemplate({ accountId: 2, name: "page-b" }))).toMatchObject({
    code: Code.NotFound,
    reason: "TEMPLATE_NOT_FOUND",
  });
  expect(await refusal(c.deleteTemplate({ accountId: 2, name: "page-b" }))).toMatchObject({ code: Code.NotFound });
  const again = await c.createTemplate({ accountId: 2, name: "page-b", content: content() });
  expect(again.template).toMatchObject({ version: 2, latestVersion: 2 });
  expect(await refusal(c.listTemplates({ accountId: 2, pageToken: "bm90LWEtdG9rZW4" }))).toMatchObject({ reason: "PAGE_TOKEN_INVALID" });
});

test("scopes: templates to save and delete, read to look and render; the key must cover the account", async () => {
  const save = (key: string) => as(key).createTemplate({ accountId: 1, name: `scoped-${key.slice(-6)}`, content: content() });
  expect(await refusal(save(reader.key))).toMatchObject({ code: Code.PermissionDenied, reason: "SCOPE_NOT_ALLOWED" });
  await save(writer.key);
  expect(await refusal(as(writer.key).listTemplates({ accountId: 1 }))).toMatchObject({
    code: Code.PermissionDenied,
    reason: "SCOPE_NOT_ALLOWED",
  });
  expect((await as(reader.key, "Connect JSON").listTemplates({ accountId: 1 })).templates.length).toBeGreaterThan(0);
  expect(
    (await as(reader.key).renderTemplate({ accountId: 1, source: { case: "stored", value: { name: "receipt" } }, data: { name: "Bo" } }))
      .subject,
  ).toBe("Receipt for Bo");
  expect(await refusal(as(other.key).getTemplate({ accountId: 1, name: "receipt" }))).toMatchObject({
    code: Code.PermissionDenied,
    reason: "ACCOUNT_NOT_ALLOWED",
  });
  expect(await refusal(keyedClient(TemplateService, t.url, undefined).listTemplates({ accountId: 1 }))).toMatchObject({
    code: Code.Unauthenticated,
  });
});

test("grpc-js on the .proto reads what connect wrote (Struct sample data included)", async () => {
  const g = grpcJsClient(t.url, "email/v1/template_service.proto", "email.v1.TemplateService");
  try {
    await as().createTemplate({
      accountId: 1,
      name: "grpc-js",
      content: content({ sampleData: { name: "Zoë", n: 2, list: [1, "x"], nested: { ok: true } } }),
    });
    const meta = new (await import("@grpc/grpc-js")).Metadata();
    meta.set("authorization", `Bearer ${admin.key}`);
    const res = await new Promise<Record<string, any>>((resolve, reject) =>
      (g.client as any).GetTemplate({ account_id: 1, name: "grpc-js" }, meta, (err: Error | null, r: Record<string, any>) =>
        err ? reject(err) : resolve(r),
      ),
    );
    expect(res.template.name).toBe("grpc-js");
    expect(res.template.content.sample_data.fields.name.stringValue).toBe("Zoë");
  } finally {
    g.close();
  }
});
