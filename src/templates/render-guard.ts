// What a template may read and how much a render may cost. Every value a template reads goes
// through read(): only own properties of the data (never a prototype, a function or anything
// outside the data), each object remembering its path so that a missing value is named exactly
// ("order.items[2].price"). Reads, loop turns and the bytes they produce are counted, so a render
// that would take too long or grow too large stops with a reason instead of running on.

/** Reads, loop turns and the like one render may take: some milliseconds of work. */
export const MAX_RENDER_STEPS = 200_000;
/** Bytes the reads and loop turns of one render may produce (nested loops count twice). */
export const MAX_RENDER_BYTES = 40 * 1024 * 1024;
/** How often (in steps) the clock is looked at. */
const CLOCK_EVERY = 1024;

export type RenderLimit = "TEMPLATE_OUTPUT_TOO_LARGE" | "TEMPLATE_RENDER_LIMIT";

/** A render stopped: data missing (with the path), a limit reached, or a helper refused its input. */
export class RenderStop extends Error {
  override name = "RenderStop";
  constructor(
    readonly reason: "TEMPLATE_DATA_MISSING" | "TEMPLATE_HELPER_INVALID" | RenderLimit,
    message: string,
    readonly path = "",
  ) {
    super(message);
  }
}

/** One render's state: the paths of the data's objects, the misses, and the costs so far. */
export class RenderGuard {
  private readonly paths = new WeakMap<object, string>();
  private steps = 0;
  private bytes = 0;
  /** The path of the value read last: a read from null names the null's path. */
  private lastPath = "";
  /** Paths that were missing, when misses are collected instead of stopping the render. */
  readonly missing: string[] = [];

  /**
   * @param collect collect missing paths (rendering them empty) instead of stopping at the first
   * @param deadline a time (performance.now()) after which the render stops
   */
  constructor(
    root: object,
    private readonly collect: boolean,
    private readonly deadline: number,
  ) {
    this.paths.set(root, "");
  }

  /** `parent[name]` as a template reads it. */
  read(parent: unknown, name: string): unknown {
    this.step();
    if (parent === undefined) return undefined; // the miss that made it undefined is already reported
    if (parent !== null && typeof parent === "object") {
      const path = this.paths.get(parent);
      // Not the data's own object: a Handlebars data frame (@index, @key, @root, …).
      if (path === undefined) return Object.hasOwn(parent, name) ? (parent as Record<string, unknown>)[name] : this.miss(`@${name}`);
      const child = childPath(path, name, Array.isArray(parent));
      if (!Object.hasOwn(parent, name)) return this.miss(child);
      return this.value((parent as Record<string, unknown>)[name], child);
    }
    // A property of null, a string or a number is not in the data.
    return this.miss(childPath(this.lastPath, name, false));
  }

  /** A value handed to a block (a loop turn, a lookup), remembered under its path. */
  value(value: unknown, path: string): unknown {
    this.lastPath = path;
    if (value !== null && typeof value === "object") this.paths.set(value, path);
    else if (typeof value === "string") this.produced(value.length);
    return value;
  }

  /** The path of an object of the data ("" for the root). */
  pathOf(value: object): string | undefined {
    return this.paths.get(value);
  }

  /** One unit of work; stops the render past its budget or its deadline. */
  step(): void {
    this.steps++;
    if (this.steps > MAX_RENDER_STEPS) {
      throw new RenderStop("TEMPLATE_RENDER_LIMIT", `the render took more than ${MAX_RENDER_STEPS} steps (reads and loop turns)`);
    }
    if (this.steps % CLOCK_EVERY === 0 && performance.now() > this.deadline) {
      throw new RenderStop("TEMPLATE_RENDER_LIMIT", "the render took too long");
    }
  }

  /** Output produced by a read or a loop turn. */
  produced(length: number): void {
    this.bytes += length;
    if (this.bytes > MAX_RENDER_BYTES) {
      throw new RenderStop("TEMPLATE_OUTPUT_TOO_LARGE", `the render produced more than ${MAX_RENDER_BYTES} bytes`);
    }
  }

  private miss(path: string): undefined {
    if (!this.collect) throw new RenderStop("TEMPLATE_DATA_MISSING", `the data has no ${path}`, path);
    if (!this.missing.includes(path)) this.missing.push(path);
    this.lastPath = path;
    return undefined;
  }
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** "order" + "items" -> "order.items"; an array index -> "items[2]"; other keys quoted. */
export function childPath(path: string, name: string, inArray: boolean): string {
  if (inArray && /^\d+$/.test(name)) return `${path}[${name}]`;
  if (IDENTIFIER.test(name)) return path ? `${path}.${name}` : name;
  return `${path}[${JSON.stringify(name)}]`;
}
