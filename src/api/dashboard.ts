// The outbox dashboard: static files built from dashboard/ by `npm run build` (or
// `npm run build:dashboard`; esbuild), served at / from the HTTP fallback. The page holds no
// data: it calls the RPCs with the operator's own API key, so serving it needs none.
import { readFile } from "node:fs/promises";
import { join, sep } from "node:path";
import type { ConnectNodeAdapterOptions } from "@connectrpc/connect-node";
import { packageRoot } from "../lib/package-root.js";

/** Where the build writes the page; read per request, so a rebuild needs no restart. */
export const DASHBOARD_DIR = join(packageRoot(), "dist", "dashboard") + sep;

/** URL path -> built file and its type. */
export const DASHBOARD_FILES: ReadonlyMap<string, { file: string; type: string }> = new Map([
  ["/", { file: "index.html", type: "text/html; charset=utf-8" }],
  ["/dashboard/app.js", { file: "app.js", type: "text/javascript; charset=utf-8" }],
  ["/dashboard/app.css", { file: "app.css", type: "text/css; charset=utf-8" }],
]);

/** Nothing but this origin: no CDN, no external font, no inline script, no framing. */
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

type Res = Parameters<NonNullable<ConnectNodeAdapterOptions["fallback"]>>[1];

export function isDashboardPath(path: string | undefined): path is string {
  return path !== undefined && DASHBOARD_FILES.has(path);
}

export function serveDashboard(path: string, res: Res, dir = DASHBOARD_DIR): void {
  const entry = DASHBOARD_FILES.get(path);
  if (!entry) throw new Error(`not a dashboard path: ${path}`);
  readFile(dir + entry.file).then(
    (body) => {
      res.writeHead(200, {
        "content-type": entry.type,
        "content-length": body.length,
        "cache-control": "no-cache",
        "content-security-policy": CSP,
        "x-content-type-options": "nosniff",
        "referrer-policy": "no-referrer",
      });
      res.end(body);
    },
    (err: NodeJS.ErrnoException) => {
      if (res.headersSent) return void res.destroy();
      const text = err.code === "ENOENT" ? "The dashboard is not built: run `npm run build`.\n" : "The dashboard cannot be read.\n";
      res.writeHead(503, { "content-type": "text/plain; charset=utf-8", "content-length": Buffer.byteLength(text) });
      res.end(text);
    },
  );
}
