// Templates and their problems -> proto messages and API errors.
import { create } from "@bufbuild/protobuf";
import { Code, type ConnectError } from "@connectrpc/connect";
import { TemplateSchema, type Template } from "../../../gen/email/v1/template_service_pb.js";
import { describe, type TemplateProblem } from "../../templates/problems.js";
import type { TemplateVersion } from "../../templates/store.js";
import { apiError } from "./errors.js";
import { time } from "./mapping.js";

export function toProtoTemplate(v: TemplateVersion): Template {
  return create(TemplateSchema, {
    accountId: v.accountId,
    name: v.name,
    version: v.version,
    latestVersion: v.latestVersion,
    content: {
      subject: v.subject,
      html: v.html,
      text: v.text,
      layout: v.layout ?? "",
      description: v.description,
      sampleData: v.sampleData ?? undefined,
    },
    mjml: v.compiledHtml !== null,
    createTime: time(v.createdAt),
  });
}

/**
 * INVALID_ARGUMENT for template problems: the first one's reason (its field, and the missing
 * path for TEMPLATE_DATA_MISSING, in the ErrorInfo metadata), every one a field violation.
 * `prefix` names the request field the problems are under ("template.", "content.").
 */
export function problemsError(problems: TemplateProblem[], prefix = ""): ConnectError {
  const all = problems.map((p) => ({ ...p, field: prefix + p.field }));
  const first = all[0]!;
  const metadata: Record<string, string> = { field: first.field };
  if (first.path) metadata.path = first.path;
  if (first.line) metadata.line = String(first.line);
  return apiError(
    Code.InvalidArgument,
    first.reason,
    describe(first),
    metadata,
    all.map((p) => ({ field: p.field, reason: p.reason, description: describe(p) })),
  );
}

export function templateNotFound(name: string, version?: number): ConnectError {
  const metadata: Record<string, string> = { name: name.slice(0, 64) };
  if (version !== undefined) metadata.version = String(version);
  return apiError(
    Code.NotFound,
    "TEMPLATE_NOT_FOUND",
    version === undefined
      ? `the account has no template named ${name.slice(0, 64)}`
      : `the account has no template named ${name.slice(0, 64)} with version ${version}`,
    metadata,
  );
}
