// What a saved version must be: names, sizes, data bounds, Handlebars that compiles (every problem
// with its line), and MJML compiled to HTML. The layout rules that need the other templates are
// checked by the store, under its locks.
import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import { AddressError, assertHeaderSafe } from "../message/address.js";
import { checkSource } from "./engine.js";
import { compileMjml, isMjml } from "./mjml.js";
import type { TemplateProblem } from "./problems.js";
import type { VersionContent } from "./store.js";

export const NAME = /^[A-Za-z0-9._-]{1,64}$/;
export const MAX_SUBJECT_SOURCE = 4 * 1024;
export const MAX_PART_SOURCE = 512 * 1024;
/** MJML compiles about 100 KiB a second and writes several times its input: both are bounded. */
const MAX_MJML_SOURCE = 128 * 1024;
const MAX_COMPILED_HTML = 4 * 1024 * 1024;
const MAX_DESCRIPTION = 1000;
/** Template data (and sample data), as JSON. */
export const MAX_DATA_BYTES = 256 * 1024;
export const MAX_DATA_DEPTH = 32;

/** The fields of CreateTemplate and UpdateTemplate, as TemplateContent has them. */
export interface ContentInput {
  subject: string;
  html: string;
  text: string;
  layout: string;
  description: string;
  sampleData?: JsonObject;
}

export function nameProblem(field: string, name: string): TemplateProblem | undefined {
  if (NAME.test(name)) return undefined;
  return { field, reason: "TEMPLATE_NAME_INVALID", message: "a template name is 1 to 64 of A-Z a-z 0-9 . _ -" };
}

/** Data: at most MAX_DATA_BYTES as JSON and MAX_DATA_DEPTH deep. */
export function dataProblem(field: string, data: JsonObject | undefined): TemplateProblem | undefined {
  if (!data) return undefined;
  if (Buffer.byteLength(JSON.stringify(data)) > MAX_DATA_BYTES) {
    return { field, reason: "TEMPLATE_DATA_TOO_LARGE", message: `the data is more than ${MAX_DATA_BYTES} bytes as JSON` };
  }
  if (tooDeep(data, MAX_DATA_DEPTH))
    return { field, reason: "TEMPLATE_DATA_TOO_LARGE", message: `the data is nested more than ${MAX_DATA_DEPTH} deep` };
  return undefined;
}

/** Whether the value nests deeper than `room` levels (stops looking as soon as it does). */
function tooDeep(value: JsonValue, room: number): boolean {
  if (value === null || typeof value !== "object") return false;
  if (room === 0) return true;
  for (const child of Array.isArray(value) ? value : Object.values(value)) if (tooDeep(child, room - 1)) return true;
  return false;
}

/** The version to store, or every problem of it (fields prefixed with `prefix`, e.g. "content."). */
export async function prepareContent(input: ContentInput, prefix: string): Promise<VersionContent | TemplateProblem[]> {
  const problems: TemplateProblem[] = [];
  const add = (p: TemplateProblem | undefined) => p && problems.push({ ...p, field: prefix + p.field });
  const tooLarge = (field: string, max: number) =>
    add({ field, reason: "TEMPLATE_TOO_LARGE", message: `${field} is more than ${max} bytes` });
  if (Buffer.byteLength(input.subject) > MAX_SUBJECT_SOURCE) tooLarge("subject", MAX_SUBJECT_SOURCE);
  if (Buffer.byteLength(input.html) > MAX_PART_SOURCE) tooLarge("html", MAX_PART_SOURCE);
  if (Buffer.byteLength(input.text) > MAX_PART_SOURCE) tooLarge("text", MAX_PART_SOURCE);
  if (input.description.length > MAX_DESCRIPTION)
    add({ field: "description", reason: "TEMPLATE_TOO_LARGE", message: `description is more than ${MAX_DESCRIPTION} characters` });
  if (!input.html.trim() && !input.text.trim())
    add({ field: "html", reason: "TEMPLATE_EMPTY", message: "a template has html, text or both" });
  if (input.layout) add(nameProblem("layout", input.layout));
  add(dataProblem("sample_data", input.sampleData));
  if (problems.length) return problems;

  try {
    assertHeaderSafe(input.subject, "subject");
  } catch (err) {
    if (!(err instanceof AddressError)) throw err;
    add({ field: "subject", reason: err.reason, message: err.message });
  }
  for (const p of checkSource(input.subject, "subject", "plain")) add(p);
  for (const p of checkSource(input.html, "html", "html")) add(p);
  for (const p of checkSource(input.text, "text", "plain")) add(p);
  let compiledHtml: string | null = null;
  if (problems.length === 0 && isMjml(input.html)) {
    if (Buffer.byteLength(input.html) > MAX_MJML_SOURCE) {
      tooLarge("html", MAX_MJML_SOURCE);
      return problems;
    }
    const mjml = await compileMjml(input.html, "html");
    if (Array.isArray(mjml)) mjml.forEach(add);
    else if (Buffer.byteLength(mjml) > MAX_COMPILED_HTML) tooLarge("html", MAX_COMPILED_HTML);
    // MJML keeps the Handlebars text as it is; should it have changed a tag, say so.
    else
      for (const p of checkSource((compiledHtml = mjml), "html", "html"))
        add({ ...p, message: `after MJML: ${p.message}`, line: undefined, column: undefined });
    if (input.layout && compiledHtml !== null)
      add({
        field: "html",
        reason: "TEMPLATE_LAYOUT_INVALID",
        message: "an MJML document is a whole message: it can be a layout but cannot have one",
      });
  }
  if (problems.length) return problems;
  return {
    subject: input.subject,
    html: input.html,
    compiledHtml,
    text: input.text,
    layout: input.layout || null,
    description: input.description,
    sampleData: input.sampleData ?? null,
  };
}
