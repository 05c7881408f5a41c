// email.v1.TemplateService: saving versions, reading and listing them, deleting, and rendering
// without sending. The key must cover the account (scopes: templates to save and delete, read
// for the rest).
import { Code, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import type { JsonObject } from "@bufbuild/protobuf";
import type { RenderTemplateRequest, TemplateContent, TemplateService } from "../../../gen/email/v1/template_service_pb.js";
import { authorize } from "../auth/authorize.js";
import type { Clock } from "../../db/clock.js";
import type { Config } from "../../config/config.js";
import type { Pool } from "../../db/pool.js";
import { compileTemplate, TemplateCall, type CompiledTemplates } from "../../templates/compiled.js";
import { dataProblem, nameProblem, prepareContent } from "../../templates/content.js";
import type { TemplateProblem } from "../../templates/problems.js";
import { renderTemplate, type CompiledTemplate } from "../../templates/render.js";
import { deleteTemplate, getVersion, listTemplates, listVersions, saveVersion, type TemplateRefusal } from "../../templates/store.js";
import { apiError, invalidArgument } from "./errors.js";
import { time } from "./mapping.js";
import { decodePageToken, encodePageToken, pageSize } from "./page-token.js";
import { problemsError, templateNotFound, toProtoTemplate } from "./template-mapping.js";
import { checkBodies, checkSubject, requireAccount, Violations } from "./validate.js";

export interface TemplateDeps {
  config: () => Config;
  pool: Pool;
  clock: Clock;
  templates: CompiledTemplates;
}

const REFUSAL_CODES: Record<TemplateRefusal["refused"], Code> = {
  TEMPLATE_EXISTS: Code.AlreadyExists,
  TEMPLATE_NOT_FOUND: Code.NotFound,
  TEMPLATE_LAYOUT_INVALID: Code.InvalidArgument,
  TEMPLATE_IN_USE: Code.FailedPrecondition,
};

export function templateServiceHandlers(deps: TemplateDeps): ServiceImpl<typeof TemplateService> {
  /** The account check, then the template's name. */
  const named = (ctx: HandlerContext, accountId: number, name: string) => {
    authorize(ctx, accountId);
    requireAccount(deps.config(), accountId);
    const bad = nameProblem("name", name);
    if (bad) throw problemsError([bad]);
  };
  const save = async (
    req: { accountId: number; name: string; content?: TemplateContent },
    ctx: HandlerContext,
    mode: "create" | "update",
  ) => {
    named(ctx, req.accountId, req.name);
    const content = await prepareContent(contentInput(req.content), "content.");
    if (Array.isArray(content)) throw problemsError(content);
    const saved = await saveVersion(deps.pool, req.accountId, req.name, content, deps.clock.now(), mode);
    if ("refused" in saved) throw refusal(saved);
    return { template: toProtoTemplate(saved) };
  };
  return {
    createTemplate: (req, ctx) => save(req, ctx, "create"),
    updateTemplate: (req, ctx) => save(req, ctx, "update"),
    async getTemplate(req, ctx) {
      named(ctx, req.accountId, req.name);
      const found = req.version === 0 ? undefined : await getVersion(deps.pool, req.accountId, req.name, req.version);
      if (!found) throw templateNotFound(req.name, req.version);
      return { template: toProtoTemplate(found) };
    },
    async listTemplates(req, ctx) {
      authorize(ctx, req.accountId);
      const size = pageSize(req.pageSize);
      const rows = await listTemplates(deps.pool, req.accountId, req.pageToken ? decodeNameToken(req.pageToken) : undefined, size + 1);
      const page = rows.slice(0, size);
      return {
        templates: page.map((t) => ({
          accountId: t.accountId,
          name: t.name,
          latestVersion: t.latestVersion,
          description: t.description,
          layout: t.layout ?? "",
          createTime: time(t.createdAt),
          updateTime: time(t.updatedAt),
        })),
        nextPageToken: rows.length > size ? Buffer.from(`t:${page[page.length - 1]!.name}`).toString("base64url") : "",
      };
    },
    async listTemplateVersions(req, ctx) {
      named(ctx, req.accountId, req.name);
      const size = pageSize(req.pageSize);
      const rows = await listVersions(
        deps.pool,
        req.accountId,
        req.name,
        req.pageToken ? decodePageToken(req.pageToken) : undefined,
        size + 1,
      );
      if (!rows) throw templateNotFound(req.name);
      const page = rows.slice(0, size);
      return {
        versions: page.map((v) => ({
          version: v.version,
          description: v.description,
          layout: v.layout ?? "",
          mjml: v.mjml,
          createTime: time(v.createdAt),
        })),
        nextPageToken: rows.length > size ? encodePageToken(page[page.length - 1]!.version) : "",
      };
    },
    async deleteTemplate(req, ctx) {
      named(ctx, req.accountId, req.name);
      const refused = await deleteTemplate(deps.pool, req.accountId, req.name, deps.clock.now());
      if (refused) throw refusal(refused);
      return {};
    },
    async renderTemplate(req, ctx) {
      authorize(ctx, req.accountId);
      requireAccount(deps.config(), req.accountId);
      const bad = dataProblem("data", req.data);
      if (bad) throw problemsError([bad]);
      const source = await renderSource(deps, req);
      if (Array.isArray(source)) return { subject: "", html: "", text: "", problems: source, version: 0 };
      const out = renderTemplate(source.template, req.data ?? {}, {
        layout: source.layout,
        collect: true,
        deadline: new TemplateCall().deadline,
      });
      // The rules of the message itself, once the template renders cleanly.
      const problems = out.problems.length ? out.problems : asSent(out);
      return { subject: out.subject, html: out.html, text: out.text, problems, version: source.version };
    },
  };
}

/** What RenderTemplate renders: a stored version with its layout, or an inline one (or its problems). */
async function renderSource(
  deps: TemplateDeps,
  req: RenderTemplateRequest,
): Promise<{ template: CompiledTemplate; layout?: CompiledTemplate; version: number } | TemplateProblem[]> {
  const { accountId } = req;
  if (req.source.case === "stored") {
    const ref = req.source.value;
    const bad = nameProblem("stored.name", ref.name);
    if (bad) throw problemsError([bad]);
    const found = ref.version === 0 ? "not_found" : await deps.templates.forSend(accountId, ref.name, ref.version);
    if (found === "not_found") throw templateNotFound(ref.name, ref.version);
    if (found === "layout_gone")
      return [{ field: "layout", reason: "TEMPLATE_LAYOUT_INVALID", message: "the layout of this template version was deleted" }];
    return { template: found.template, layout: found.layout, version: found.version };
  }
  if (req.source.case !== "inline")
    throw invalidArgument([{ field: "source", reason: "REQUIRED_FIELD_EMPTY", description: "give a stored or an inline template" }]);
  const content = await prepareContent(contentInput(req.source.value), "");
  if (Array.isArray(content)) return content;
  let layout: CompiledTemplate | undefined;
  if (content.layout) {
    const found = await deps.templates.forSend(accountId, content.layout, undefined);
    if (typeof found === "string")
      return [{ field: "layout", reason: "TEMPLATE_LAYOUT_INVALID", message: `the account has no template named ${content.layout}` }];
    layout = found.template;
  }
  return {
    template: compileTemplate({ subject: content.subject, html: content.compiledHtml ?? content.html, text: content.text }),
    layout,
    version: 0,
  };
}

/** What a Send would refuse in the rendered message itself: the subject's and the bodies' rules. */
function asSent(out: { subject: string; html: string; text: string }): TemplateProblem[] {
  const v = new Violations();
  if (out.subject.trim() === "") v.add("subject", "REQUIRED_FIELD_EMPTY", "the subject renders empty");
  else checkSubject(v, out.subject);
  if (out.text.trim() === "") v.add("text", "REQUIRED_FIELD_EMPTY", "the text renders empty");
  checkBodies(v, out.text, out.html);
  const fields: Record<string, string> = { body_text: "text", body_html: "html" };
  return v.list.map((p) => ({ field: fields[p.field] ?? p.field, reason: p.reason, message: p.description }));
}

function contentInput(c: TemplateContent | undefined) {
  return {
    subject: c?.subject ?? "",
    html: c?.html ?? "",
    text: c?.text ?? "",
    layout: c?.layout ?? "",
    description: c?.description ?? "",
    sampleData: c?.sampleData as JsonObject | undefined,
  };
}

function refusal(r: TemplateRefusal) {
  const field = r.refused === "TEMPLATE_LAYOUT_INVALID" ? "content.layout" : "name";
  return apiError(
    REFUSAL_CODES[r.refused],
    r.refused,
    r.message,
    { field },
    r.refused === "TEMPLATE_LAYOUT_INVALID" ? [{ field, reason: r.refused, description: r.message }] : [],
  );
}

function decodeNameToken(token: string): string {
  const text = token.length <= 128 ? Buffer.from(token, "base64url").toString() : "";
  const name = text.startsWith("t:") ? text.slice(2) : "";
  if (nameProblem("page_token", name)) {
    throw invalidArgument([{ field: "page_token", reason: "PAGE_TOKEN_INVALID", description: "page_token is not one this server issued" }]);
  }
  return name;
}
