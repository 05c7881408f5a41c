// The README is the front door and docs/ is behind it: every relative link in them must reach a
// file that exists and, when it names a section, a heading of that file.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { expect, test } from "vitest";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const PAGES = [
  "README.md",
  ...readdirSync(path.join(ROOT, "docs"))
    .filter((f) => f.endsWith(".md"))
    .map((f) => `docs/${f}`),
];

/** Text outside ``` blocks: a `#` line in a shell example is no heading. */
function prose(markdown: string): string {
  return markdown
    .split(/^```.*$/m)
    .filter((_, i) => i % 2 === 0)
    .join("\n");
}

/** The anchors of a page's headings, as a Markdown renderer derives them (repeats get -1, -2, …). */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const [, title] of prose(markdown).matchAll(/^#{1,6} (.+)$/gm)) {
    const base = title!
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, "")
      .replace(/\s/g, "-");
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

test("README.md and docs/*.md link only to files and sections that exist", () => {
  expect(PAGES.length).toBeGreaterThan(5);
  const broken: string[] = [];
  for (const page of PAGES) {
    const text = prose(readFileSync(path.join(ROOT, page), "utf8"));
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(target!)) continue;
      const [file, anchor] = target!.split("#") as [string, string | undefined];
      const resolved = file === "" ? page : path.join(path.dirname(page), file);
      if (!existsSync(path.join(ROOT, resolved))) broken.push(`${page}: ${target} (no file ${resolved})`);
      else if (anchor !== undefined && resolved.endsWith(".md") && !anchors(readFileSync(path.join(ROOT, resolved), "utf8")).has(anchor)) {
        broken.push(`${page}: ${target} (no heading #${anchor} in ${resolved})`);
      }
    }
  }
  expect(broken).toEqual([]);
});

test("the README stays a front door", () => {
  expect(readFileSync(path.join(ROOT, "README.md"), "utf8").split("\n").length).toBeLessThanOrEqual(300);
});
