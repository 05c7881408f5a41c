// The Handlebars environment templates are compiled in: an isolated one (Handlebars.create), no
// partials or decorators, only the known helpers, and every read of the data through the render
// guard (render-guard.ts), which allows own data properties only and names what is missing.
import Handlebars from "handlebars";
import { registerHelpers, KNOWN_HELPERS } from "./helpers.js";
import type { RenderGuard } from "./render-guard.js";
import type { TemplateProblem } from "./problems.js";

/** A compiled part: renders `root` under `guard`. */
export type CompiledPart = (root: object, guard: RenderGuard) => string;

type Emitted = string | unknown[];
interface JavaScriptCompiler {
  nameLookup(parent: Emitted, name: string, type: string): Emitted;
  quotedString(value: string): string;
}
type CompilerClass = new () => JavaScriptCompiler;

const env = Handlebars.create();
const Base = (env as unknown as { JavaScriptCompiler: CompilerClass }).JavaScriptCompiler;

/**
 * Compiles every context and @data read into a call of the guard's read() (reached as a helper,
 * which a template cannot call itself: only KNOWN_HELPERS may be called). Helpers, partials and
 * decorators are looked up as Handlebars does.
 */
class GuardedCompiler extends Base {
  override nameLookup(parent: Emitted, name: string, type: string): Emitted {
    if (type !== "context" && type !== "data") return super.nameLookup(parent, name, type);
    // Handlebars wraps every helper to set `lookupProperty` on its last argument (its options):
    // container is passed there, as it already holds that very property.
    return [`helpers.${READ}(`, parent, ",", this.quotedString(name), ",container)"];
  }
}
(GuardedCompiler.prototype as unknown as { compiler: CompilerClass }).compiler = GuardedCompiler;
(env as unknown as { JavaScriptCompiler: CompilerClass }).JavaScriptCompiler = GuardedCompiler;

const READ = "__read";
/** The guard of the render under way: renders are synchronous, so there is one at a time. */
let active: RenderGuard | undefined;
export function activeGuard(): RenderGuard {
  if (!active) throw new Error("a template helper ran outside a render");
  return active;
}
env.unregisterHelper("log");
env.registerHelper(READ, (parent: unknown, name: string) => activeGuard().read(parent, name));
registerHelpers(env, activeGuard);

/** How a part treats values: HTML-escaped (html) or as they are (subject, text). */
export type PartKind = "html" | "plain";

function options(kind: PartKind) {
  // assumeObjects: a path's every step is read (a read from null is a miss), not skipped.
  return { knownHelpers: KNOWN_HELPERS, knownHelpersOnly: true, assumeObjects: true, noEscape: kind === "plain", data: true };
}

/** Partials, decorators and inline partials are refused: one template is one source. */
class Forbidden extends Handlebars.Visitor {
  readonly problems: TemplateProblem[] = [];
  constructor(private readonly field: string) {
    super();
  }
  private refuse(node: hbs.AST.Node, what: string) {
    this.problems.push({
      field: this.field,
      reason: "TEMPLATE_SYNTAX",
      message: `${what} are not supported`,
      line: node.loc.start.line,
      column: node.loc.start.column,
    });
  }
  override PartialStatement(node: hbs.AST.PartialStatement) {
    this.refuse(node, "partials");
  }
  override PartialBlockStatement(node: hbs.AST.PartialBlockStatement) {
    this.refuse(node, "partials");
  }
  override Decorator(node: hbs.AST.Decorator) {
    this.refuse(node, "decorators");
  }
  override DecoratorBlock(node: hbs.AST.DecoratorBlock) {
    this.refuse(node, "inline partials and decorators");
  }
}

/** The problems of a source (syntax, helpers, partials), each with its line; none means it compiles. */
export function checkSource(source: string, field: string, kind: PartKind): TemplateProblem[] {
  try {
    const ast = env.parse(source);
    const forbidden = new Forbidden(field);
    forbidden.accept(ast);
    if (forbidden.problems.length) return forbidden.problems;
    env.precompile(ast, options(kind));
    return [];
  } catch (err) {
    return [syntaxProblem(err, field)];
  }
}

/** Compiles a source that checkSource() passed. */
export function compilePart(source: string, kind: PartKind): CompiledPart {
  const template = env.compile(source, options(kind));
  return (root, guard) => {
    active = guard;
    try {
      return template(root, { allowProtoPropertiesByDefault: false, allowProtoMethodsByDefault: false });
    } finally {
      active = undefined;
    }
  };
}

/** A Handlebars parse or compile error as a problem with its line and column. */
function syntaxProblem(err: unknown, field: string): TemplateProblem {
  const e = err as { message?: string; lineNumber?: number; column?: number };
  const message = String(e.message ?? err);
  // Parse errors: "Parse error on line N:\n<text>\n---^\nExpecting …, got …".
  const parse = /^Parse error on line (\d+):\n[^\n]*\n[^\n]*\n(.*)$/s.exec(message);
  if (parse) return { field, reason: "TEMPLATE_SYNTAX", message: `parse error: ${parse[2]!.replace(/\s+/g, " ")}`, line: Number(parse[1]) };
  return {
    field,
    reason: "TEMPLATE_SYNTAX",
    message: message.replace(/ - \d+:\d+$/, ""),
    line: typeof e.lineNumber === "number" ? e.lineNumber : undefined,
    column: typeof e.column === "number" ? e.column : undefined,
  };
}
