// Compiled templates by (account, name, version) in a bounded LRU: a version never changes, so
// an entry never goes stale; only which version is the latest is read for each send
// (send-targets.ts, batched).
import type { Pool } from "../db/pool.js";
import { compilePart } from "./engine.js";
import type { CompiledTemplate } from "./render.js";
import { SendTargets } from "./send-targets.js";
import { versionContent } from "./store.js";

/** Compiled versions kept per instance, and their sources' characters in all (a compiled part holds its text). */
const MAX_ENTRIES = 1000;
const MAX_CHARS = 64 * 1024 * 1024;
/** Render time one call (a Send, or a whole SendBatch) may spend in all. */
const CALL_RENDER_MS = 2_000;

/** What a send renders. */
export interface SendTemplate {
  version: number;
  template: CompiledTemplate;
  layout?: CompiledTemplate;
}

/** One RPC's rendering (a Send, or a whole SendBatch): its deadline. */
export class TemplateCall {
  readonly deadline = performance.now() + CALL_RENDER_MS;
}

/** The parts of a version's sources, compiled; a part with an empty source is left out. */
export function compileTemplate(src: { subject: string; html: string; text: string }): CompiledTemplate {
  return {
    subject: compilePart(src.subject, "plain"),
    html: src.html ? compilePart(src.html, "html") : undefined,
    text: src.text ? compilePart(src.text, "plain") : undefined,
  };
}

interface Entry {
  loading: Promise<CompiledTemplate | undefined>;
  /** The sources' length once loaded. */
  chars: number;
}

export class CompiledTemplates {
  /** In use order: the first is the least recently used. */
  private readonly entries = new Map<string, Entry>();
  private chars = 0;
  private readonly targets: SendTargets;

  constructor(private readonly pool: Pool) {
    this.targets = new SendTargets(pool);
  }

  /**
   * The version a send renders (the latest unless one is named) and its layout, compiled;
   * "not_found" when the account has no such live template or version, "layout_gone" when the
   * version's layout was deleted since.
   */
  async forSend(accountId: number, name: string, version: number | undefined): Promise<SendTemplate | "not_found" | "layout_gone"> {
    const t = await this.targets.read({ accountId, name, version });
    if (!t) return "not_found";
    if (t.layout !== null && t.layoutVersion === null) return "layout_gone";
    const [template, layout] = await Promise.all([
      this.version(accountId, name, t.version),
      t.layout !== null ? this.version(accountId, t.layout, t.layoutVersion!) : undefined,
    ]);
    if (!template) return "not_found";
    return { version: t.version, template, layout };
  }

  /** One version, compiled, from the cache or the database. */
  version(accountId: number, name: string, version: number): Promise<CompiledTemplate | undefined> {
    const key = `${accountId}\0${name}\0${version}`;
    const hit = this.entries.get(key);
    if (hit) {
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit.loading;
    }
    const entry: Entry = { loading: Promise.resolve(undefined), chars: 0 };
    entry.loading = versionContent(this.pool, accountId, name, version).then((src) => {
      if (!src) return undefined;
      entry.chars = src.subject.length + src.html.length + src.text.length;
      if (this.entries.get(key) === entry) this.chars += entry.chars;
      this.evict();
      return compileTemplate(src);
    });
    // A failed read is not kept: the next send reads again.
    entry.loading.catch(() => this.drop(key, entry));
    this.entries.set(key, entry);
    this.evict();
    return entry.loading;
  }

  /** Least recently used first, until both bounds hold (the newest entry always stays). */
  private evict(): void {
    while (this.entries.size > 1 && (this.entries.size > MAX_ENTRIES || this.chars > MAX_CHARS)) {
      const [key, entry] = this.entries.entries().next().value!;
      this.drop(key, entry);
    }
  }

  private drop(key: string, entry: Entry): void {
    if (this.entries.get(key) !== entry) return;
    this.entries.delete(key);
    this.chars -= entry.chars;
  }
}
