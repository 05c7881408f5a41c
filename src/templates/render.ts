// Renders a compiled template with its data: the subject, the HTML placed in the layout's
// {{{body}}}, and the text (the template's own, in the layout's text, or derived from the HTML).
// A send stops at the first problem; a preview (RenderTemplate) collects them all.
import { compile as compileHtmlToText } from "html-to-text";
import type { CompiledPart } from "./engine.js";
import type { TemplateProblem } from "./problems.js";
import { RenderGuard, RenderStop } from "./render-guard.js";

/** One version, compiled: a part is undefined when the version has none. */
export interface CompiledTemplate {
  subject: CompiledPart;
  html?: CompiledPart;
  text?: CompiledPart;
}

export interface Rendered {
  subject: string;
  html: string;
  text: string;
  /** When collecting: every problem (what they concern rendered empty); otherwise none. */
  problems: TemplateProblem[];
}

export interface RenderOptions {
  /** The layout's compiled parts, when the template names one. */
  layout?: CompiledTemplate;
  /** Collect every problem (rendering what is missing as empty) instead of throwing the first. */
  collect?: boolean;
  /** Leave the subject out (a Reply keeps its parent's). */
  skipSubject?: boolean;
  /** performance.now() after which rendering stops (TEMPLATE_RENDER_LIMIT). */
  deadline: number;
}

/** A text part from HTML: links kept as "text [url]", images left out, headings as written, lines wrapped at 78. */
const htmlToText = compileHtmlToText({
  wordwrap: 78,
  selectors: [
    { selector: "a", options: { hideLinkHrefIfSameAsText: true } },
    { selector: "img", format: "skip" },
    ...["h1", "h2", "h3", "h4", "h5", "h6"].map((selector) => ({ selector, options: { uppercase: false } })),
  ],
});

export class RenderProblems extends Error {
  override name = "RenderProblems";
  constructor(readonly problems: TemplateProblem[]) {
    super(problems[0]?.message ?? "template problems");
  }
}

/** Renders; unless collecting problems, throws RenderProblems with the first one. */
export function renderTemplate(t: CompiledTemplate, data: object, opts: RenderOptions): Rendered {
  const problems: TemplateProblem[] = [];
  const part = (field: string, compiled: CompiledPart | undefined, root: object): string => {
    if (!compiled) return "";
    const guard = new RenderGuard(root, opts.collect === true, opts.deadline);
    try {
      return compiled(root, guard);
    } catch (err) {
      problems.push(problemOf(err, field));
      if (!opts.collect) throw new RenderProblems(problems);
      return "";
    } finally {
      for (const path of guard.missing) problems.push(missing(path, field));
    }
  };
  const subject = opts.skipSubject ? "" : part("subject", t.subject, data);
  let html = part("html", t.html, data);
  if (t.html && opts.layout?.html) html = part("layout.html", opts.layout.html, { ...data, body: html });
  let text: string;
  if (t.text) {
    text = part("text", t.text, data);
    if (opts.layout?.text) text = part("layout.text", opts.layout.text, { ...data, body: text });
  } else {
    text = html ? htmlToText(html) : "";
  }
  return { subject, html, text, problems };
}

function missing(path: string, field: string): TemplateProblem {
  return { field: "data", reason: "TEMPLATE_DATA_MISSING", message: `the data has no ${path} (read by the ${field})`, path };
}

function problemOf(err: unknown, field: string): TemplateProblem {
  if (err instanceof RenderStop) return err.reason === "TEMPLATE_DATA_MISSING" ? missing(err.path, field) : { field, reason: err.reason, message: err.message };
  // A runtime error of Handlebars itself, e.g. an object written where text was expected.
  return { field, reason: "TEMPLATE_RENDER_FAILED", message: (err as Error).message ?? String(err) };
}
