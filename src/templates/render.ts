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

/** HTML longer than this gets no derived text part (the template must have one). */
const MAX_DERIVED_HTML = 512 * 1024;

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
  /** One step of the render; its problem is kept (and thrown unless collecting), its output empty. */
  const run = (field: string, step: (guard: RenderGuard) => string, root: object = data): string => {
    const guard = new RenderGuard(root, opts.collect === true, opts.deadline);
    try {
      return step(guard);
    } catch (err) {
      problems.push(problemOf(err, field));
      if (!opts.collect) throw new RenderProblems(problems);
      return "";
    } finally {
      for (const path of guard.missing) problems.push(missing(path, field));
    }
  };
  const part = (field: string, compiled: CompiledPart | undefined, root: object = data) =>
    compiled ? run(field, (g) => compiled(root, g), root) : "";
  const subject = opts.skipSubject ? "" : part("subject", t.subject);
  let html = part("html", t.html);
  if (t.html && opts.layout?.html) html = part("layout.html", opts.layout.html, { ...data, body: html });
  let text: string;
  if (t.text) {
    text = part("text", t.text);
    if (opts.layout?.text) text = part("layout.text", opts.layout.text, { ...data, body: text });
  } else {
    text = html ? run("text", () => derive(html, opts.deadline)) : "";
  }
  return { subject, html, text, problems };
}

/** Text from HTML, bounded: it costs far more per byte than rendering (up to a second a MiB of markup). */
function derive(html: string, deadline: number): string {
  if (html.length > MAX_DERIVED_HTML) {
    throw new RenderStop(
      "TEMPLATE_OUTPUT_TOO_LARGE",
      `the HTML is over ${MAX_DERIVED_HTML} characters: give the template a text part rather than derive one`,
    );
  }
  if (performance.now() > deadline) throw new RenderStop("TEMPLATE_RENDER_LIMIT", "the render took too long");
  return htmlToText(html);
}

function missing(path: string, field: string): TemplateProblem {
  return { field: "data", reason: "TEMPLATE_DATA_MISSING", message: `the data has no ${path} (read by the ${field})`, path };
}

function problemOf(err: unknown, field: string): TemplateProblem {
  if (err instanceof RenderStop)
    return err.reason === "TEMPLATE_DATA_MISSING" ? missing(err.path, field) : { field, reason: err.reason, message: err.message };
  // A runtime error of Handlebars itself, e.g. an object written where text was expected.
  return { field, reason: "TEMPLATE_RENDER_FAILED", message: (err as Error).message ?? String(err) };
}
