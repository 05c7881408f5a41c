// The subject and bodies of a Send or Reply: as the request gives them, or rendered from the
// stored template it names (its own subject and bodies must then be empty). What is rendered is
// then checked like any other body, so a templated message obeys every rule of a plain one.
import type { ReplyRequest, SendRequest } from "../../../gen/email/v1/email_service_pb.js";
import type { Config } from "../../config/config.js";
import type { TemplateUse } from "../../outbox/types.js";
import type { CompiledTemplates, TemplateCall } from "../../templates/compiled.js";
import { dataProblem, nameProblem } from "../../templates/content.js";
import type { TemplateProblem } from "../../templates/problems.js";
import { RenderProblems, renderTemplate } from "../../templates/render.js";
import { problemsError, templateNotFound } from "./template-mapping.js";
import { requireAccount } from "./validate.js";

export interface MessageBody {
  subject: string;
  bodyText: string;
  bodyHtml: string;
  /** Set when rendered from a template. */
  template?: TemplateUse;
}

export async function messageBody(
  templates: CompiledTemplates,
  config: Config,
  req: SendRequest | ReplyRequest,
  call: TemplateCall,
): Promise<MessageBody> {
  const isSend = req.$typeName === "email.v1.SendRequest";
  const subject = isSend ? req.subject : "";
  const ref = req.template;
  if (!ref) return { subject, bodyText: req.bodyText, bodyHtml: req.bodyHtml };
  requireAccount(config, req.accountId);
  const problems = [
    subject || req.bodyText || req.bodyHtml
      ? {
          field: "template",
          reason: "TEMPLATE_AND_BODY",
          message: `a message with a template has no ${isSend ? "subject, " : ""}body_text or body_html of its own`,
        }
      : undefined,
    nameProblem("template.name", ref.name),
    dataProblem("template.data", ref.data),
  ].filter((p): p is TemplateProblem => p !== undefined);
  if (problems.length) throw problemsError(problems);

  const found = ref.version === 0 ? "not_found" : await templates.forSend(req.accountId, ref.name, ref.version);
  if (found === "not_found") throw templateNotFound(ref.name, ref.version);
  if (found === "layout_gone") {
    throw problemsError([
      { field: "template", reason: "TEMPLATE_LAYOUT_INVALID", message: "the layout of this template version was deleted" },
    ]);
  }
  try {
    const out = renderTemplate(found.template, ref.data ?? {}, { layout: found.layout, skipSubject: !isSend, deadline: call.deadline });
    return { subject: out.subject, bodyText: out.text, bodyHtml: out.html, template: { name: ref.name, version: found.version } };
  } catch (err) {
    if (err instanceof RenderProblems) throw problemsError(err.problems, "template.");
    throw err;
  }
}
