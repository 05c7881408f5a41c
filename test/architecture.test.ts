// The import rules of docs/architecture.md, checked on every file of src/. A file may import its
// own folder, the folders its folder's row allows, and the few single files listed as exceptions
// (each with the reason it is one). Type-only imports count: they tie the folders as much.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { expect, test } from "vitest";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const SRC = path.join(ROOT, "src");

/** Folder (or top-level file) of src/ -> what it may import besides itself. `gen` is the generated code. */
const ALLOWED: Record<string, readonly string[]> = {
  "main.ts": ["app", "config", "lib"],
  "index.ts": ["client", "gen"],
  app: ["api", "config", "db", "outbox", "delivery", "events", "inbound", "maintenance", "metrics", "message", "templates", "lib", "gen"],
  api: ["config", "db", "outbox", "delivery", "events", "inbound", "metrics", "message", "templates", "lib", "gen"],
  config: ["message", "lib"],
  delivery: ["config", "db", "outbox", "metrics", "message", "lib"],
  events: ["config", "db", "outbox", "message", "lib", "gen"],
  inbound: ["config", "db", "outbox", "metrics", "message", "lib"],
  maintenance: ["config", "db", "outbox", "lib"],
  metrics: ["db", "outbox", "message", "lib"],
  outbox: ["db", "message", "lib"],
  templates: ["db", "outbox", "message", "lib"],
  db: ["lib"],
  message: ["lib"],
  client: ["gen", "lib"],
  lib: [],
};

/** Single files outside a folder's row that it may still import, and why. Paths are under src/. */
const EXCEPTIONS: { from: string; to: string; why: string }[] = [
  { from: "config/schema.ts", to: "api/auth/keys.ts", why: "config reads api_keys into ApiKey" },
  { from: "config/schema.ts", to: "api/auth/scopes.ts", why: "config checks each key's scopes" },
  { from: "config/load.ts", to: "api/auth/loopback.ts", why: "off loopback, config requires API keys and https" },
  { from: "config/account-schema.ts", to: "api/auth/loopback.ts", why: "an OAuth2 token_url may be http:// only to a loopback host" },
  { from: "config/webhooks.ts", to: "outbox/types.ts", why: "a webhook filters by outbox status" },
  { from: "config/webhooks.ts", to: "events/webhooks/payload.ts", why: "a webhook filters by event name" },
  { from: "config/webhooks.ts", to: "events/webhooks/signature.ts", why: "config decodes the signing secrets" },
  { from: "delivery/remote-text.ts", to: "api/auth/keys.ts", why: "an API key is redacted from remote replies" },
  { from: "events/webhooks/payload.ts", to: "api/handlers/mapping.ts", why: "a webhook's body is the API's OutboxEvent" },
  { from: "events/webhooks/sender.ts", to: "delivery/remote-text.ts", why: "a webhook reply is cleaned like an SMTP reply" },
  { from: "inbound/bounces/apply.ts", to: "delivery/remote-text.ts", why: "a bounce's diagnostic is cleaned like an SMTP reply" },
  {
    from: "client/reasons.ts",
    to: "message/bounce-reasons.ts",
    why: "the client names a report's reason and its default class from the one taxonomy",
  },
  { from: "inbound/mailbox/imap-mailbox.ts", to: "delivery/remote-text.ts", why: "an IMAP server's error is cleaned like an SMTP reply" },
];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts"))
    .map((f) => path.join(dir, f));
}

/** The relative specifiers a file imports: static, re-exported, side-effect and dynamic. */
function relativeImports(text: string): string[] {
  const specs: string[] = [];
  for (const m of text.matchAll(/\bfrom\s*"(\.[^"]+)"|\bimport\s*\(\s*"(\.[^"]+)"\s*\)|^import\s+"(\.[^"]+)"/gm))
    specs.push(m[1] ?? m[2] ?? m[3]!);
  return specs;
}

/** The folder a path of the repository belongs to for these rules: src/'s first segment, or gen. */
function area(file: string): string {
  const rel = path.relative(SRC, file);
  if (rel.startsWith("..")) return path.relative(ROOT, file).split(path.sep)[0]!;
  return rel.split(path.sep)[0]!;
}

const toSrc = (file: string) => path.relative(SRC, file).split(path.sep).join("/");

test("every import in src/ follows the rules of docs/architecture.md", () => {
  const files = sourceFiles(SRC);
  expect(files.length).toBeGreaterThan(100);
  expect(Object.keys(ALLOWED).sort()).toEqual([...new Set(files.map(area))].sort());
  const broken: string[] = [];
  const used = new Set<string>();
  for (const file of files) {
    const from = area(file);
    for (const spec of relativeImports(readFileSync(file, "utf8"))) {
      const target = path.resolve(path.dirname(file), spec).replace(/\.js$/, ".ts");
      const to = area(target);
      if (to === from || ALLOWED[from]!.includes(to)) continue;
      const exception = EXCEPTIONS.find((e) => e.from === toSrc(file) && e.to === toSrc(target));
      if (exception) used.add(`${exception.from} -> ${exception.to}`);
      else broken.push(`src/${toSrc(file)} imports "${spec}" (${from} may not import ${to})`);
    }
  }
  expect(broken).toEqual([]);
  // An exception no file needs any more is removed, so the list stays the edges that exist.
  expect(EXCEPTIONS.map((e) => `${e.from} -> ${e.to}`).filter((e) => !used.has(e))).toEqual([]);
});

test("the import scan sees every kind of import", () => {
  const text =
    'import a from "./a.js";\nimport type { B } from "../b.js";\nexport { c } from "./c.js";\nimport "./d.js";\nconst e = await import("./e.js");\nimport x from "node:fs";';
  expect(relativeImports(text)).toEqual(["./a.js", "../b.js", "./c.js", "./d.js", "./e.js"]);
});
