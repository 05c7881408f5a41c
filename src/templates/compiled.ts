// Compiled templates by (account, name, version) in a bounded LRU: a version never changes, so
// an entry never goes stale; only which version is the latest is read for each send
// (send-targets.ts, batched).
import type { Pool } from "../outbox/db.js";
import { compilePart } from "./engine.js";
import type { CompiledTemplate } from "./render.js";
import { SendTargets } from "./send-targets.js";
import { versionContent } from "./store.js";

/** Compiled versions kept per instance. */
const MAX_ENTRIES = 1000;
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

export class CompiledTemplates {
  private readonly entries = new Map<string, Promise<CompiledTemplate | undefined>>();
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
      // Most recently used last: the first key is the one to evict.
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit;
    }
    const loading = versionContent(this.pool, accountId, name, version).then((src) => src && compileTemplate(src));
    // A failed read is not kept: the next send reads again.
    loading.catch(() => this.entries.delete(key));
    this.entries.set(key, loading);
    if (this.entries.size > MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
    return loading;
  }
}
