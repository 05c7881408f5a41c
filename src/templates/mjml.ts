// Responsive HTML from MJML (a document whose root is <mjml>), compiled once, when the template is
// saved. The Handlebars expressions pass through as text and are rendered per message later.
// mj-include is refused (it reads files); MJML is loaded on the first MJML save only.
import type { TemplateProblem } from "./problems.js";

/** An <mjml> root, after any leading comments and whitespace. */
export function isMjml(html: string): boolean {
  return /^\s*(?:<!--[\s\S]*?-->\s*)*<mjml[\s>]/i.test(html);
}

/** The HTML, or MJML's problems, each with its line in the source. */
export async function compileMjml(source: string, field: string): Promise<string | TemplateProblem[]> {
  const include = /<mj-include\b/i.exec(source);
  if (include) {
    return [
      {
        field,
        reason: "TEMPLATE_MJML_INVALID",
        message: "mj-include is not supported: a template is one document",
        line: lineOf(source, include.index),
      },
    ];
  }
  const { default: mjml2html } = await import("mjml");
  try {
    const result = await mjml2html(source, { validationLevel: "soft", ignoreIncludes: true, minify: false, beautify: false });
    if (result.errors.length === 0) return result.html;
    return result.errors.map((e) => ({ field, reason: "TEMPLATE_MJML_INVALID", message: e.message, line: e.line || undefined }));
  } catch (err) {
    // MJML's own message: a structure it cannot read at all. Its file paths are not passed on.
    const message = (err as Error).message.replace(/(?:\/[^\s/]+)+\/?/g, "…");
    return [{ field, reason: "TEMPLATE_MJML_INVALID", message }];
  }
}

function lineOf(text: string, index: number): number {
  return text.slice(0, index).split("\n").length;
}
