// The helpers a template may call: Handlebars' if, unless, with, each and lookup (each and lookup
// replaced by versions that go through the render guard), plus what a mail writer needs:
// formatNumber and formatDate (Intl, with a locale) and default. No helper touches anything but
// its arguments: no files, environment, network or clock.
import type { HelperOptions } from "handlebars";
import { childPath, type RenderGuard, RenderStop } from "./render-guard.js";

// biome-ignore lint/suspicious/noExplicitAny: Handlebars' own signatures for helpers and frames.
type Env = { registerHelper(name: string, fn: (...args: any[]) => unknown): void; createFrame(data: unknown): any };

/** Helpers a template may call besides the built-ins; `log` is not one (it writes to the console). */
export const KNOWN_HELPERS = { log: false, formatNumber: true, formatDate: true, default: true };

const DEFAULT_LOCALE = "en-US";
/** Formatters kept: creating an Intl formatter costs far more than using one. */
const MAX_FORMATTERS = 200;
const formatters = new Map<string, Intl.NumberFormat | Intl.DateTimeFormat>();

export function registerHelpers(env: Env, guard: () => RenderGuard): void {
  env.registerHelper("each", function (this: unknown, context: unknown, options: HelperOptions) {
    if (context === null || typeof context !== "object") return options.inverse(this);
    const g = guard();
    const base = g.pathOf(context) ?? "";
    const list = Array.isArray(context);
    const keys = list ? context.map((_, i) => i) : Object.keys(context);
    if (keys.length === 0) return options.inverse(this);
    const data = options.data ? env.createFrame(options.data) : undefined;
    let out = "";
    keys.forEach((key, index) => {
      g.step();
      const value = g.value((context as Record<string | number, unknown>)[key], childPath(base, String(key), list));
      if (data) Object.assign(data, { key, index, first: index === 0, last: index === keys.length - 1 });
      const part = options.fn(value, { data, blockParams: [value, key] });
      g.produced(part.length);
      out += part;
    });
    return out;
  });
  env.registerHelper("lookup", (obj: unknown, field: unknown) => guard().read(obj, String(field)));
  env.registerHelper("default", (value: unknown, fallback: unknown) =>
    value === null || value === undefined || value === "" ? fallback : value,
  );
  // undefined is a missing value, already reported (a preview renders it empty).
  env.registerHelper("formatNumber", (value: unknown, options: HelperOptions) => {
    if (value === undefined) return "";
    const n = typeof value === "number" ? value : typeof value === "string" && value.trim() !== "" ? Number(value) : NaN;
    if (!Number.isFinite(n)) throw invalid("formatNumber", `${preview(value)} is not a number`);
    const { locale, ...rest } = pick("formatNumber", options.hash, [
      "locale",
      "style",
      "currency",
      "minimumFractionDigits",
      "maximumFractionDigits",
    ]);
    return (formatter("number", locale, rest) as Intl.NumberFormat).format(n);
  });
  env.registerHelper("formatDate", (value: unknown, options: HelperOptions) => {
    if (value === undefined) return "";
    const ms = typeof value === "number" ? value : typeof value === "string" ? Date.parse(value) : NaN;
    if (!Number.isFinite(ms) || Math.abs(ms) > 8.64e15)
      throw invalid("formatDate", `${preview(value)} is not a date (ISO 8601 text or milliseconds since 1970)`);
    const { locale, ...rest } = pick("formatDate", options.hash, ["locale", "dateStyle", "timeStyle", "timeZone"]);
    if (!rest.dateStyle && !rest.timeStyle) rest.dateStyle = "medium";
    rest.timeZone ??= "UTC";
    return (formatter("date", locale, rest) as Intl.DateTimeFormat).format(ms);
  });
}

/** A cached Intl formatter; bad options (an unknown locale, currency or style) are the template's error. */
function formatter(kind: "number" | "date", locale: unknown, opts: Record<string, unknown>): Intl.NumberFormat | Intl.DateTimeFormat {
  const key = `${kind}\0${String(locale ?? DEFAULT_LOCALE)}\0${Object.entries(opts).join("\0")}`;
  let f = formatters.get(key);
  if (f) return f;
  try {
    const tag = locale === undefined ? DEFAULT_LOCALE : (Intl.getCanonicalLocales(String(locale))[0] ?? DEFAULT_LOCALE);
    f = kind === "number" ? new Intl.NumberFormat(tag, opts) : new Intl.DateTimeFormat(tag, opts);
  } catch (err) {
    throw invalid(kind === "number" ? "formatNumber" : "formatDate", (err as Error).message);
  }
  if (formatters.size >= MAX_FORMATTERS) formatters.clear();
  formatters.set(key, f);
  return f;
}

function pick(helper: string, hash: Record<string, unknown>, names: string[]): Record<string, unknown> {
  const extra = Object.keys(hash).filter((k) => !names.includes(k));
  if (extra.length) throw invalid(helper, `unknown option ${extra[0]} (allowed: ${names.join(", ")})`);
  return Object.fromEntries(names.filter((n) => hash[n] !== undefined).map((n) => [n, hash[n]]));
}

function invalid(helper: string, message: string): RenderStop {
  return new RenderStop("TEMPLATE_HELPER_INVALID", `${helper}: ${message}`);
}

function preview(value: unknown): string {
  const text = value === undefined ? "undefined" : (JSON.stringify(value) ?? String(value));
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}
