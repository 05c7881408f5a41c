// CORS for browser clients (Connect and gRPC-Web). Only configured origins are answered with
// Access-Control-* headers; preflights are answered here and never reach the RPC router.
import { cors } from "@connectrpc/connect";
import type { RequestHandler } from "./listen.js";

const ALLOW_METHODS = cors.allowedMethods.join(", ");
const ALLOW_HEADERS = [...cors.allowedHeaders, "Authorization"].join(", ");
const EXPOSE_HEADERS = cors.exposedHeaders.join(", ");
/** Browsers cap this anyway (Chromium: 2 h). */
const MAX_AGE_S = "7200";

/** `allowedOrigins()` is read per request so a reloaded config applies at once. */
export function withCors(handler: RequestHandler, allowedOrigins: () => readonly string[]): RequestHandler {
  let origins: readonly string[] | undefined;
  let allowed = new Set<string>();
  return (req, res) => {
    if (allowedOrigins() !== origins) {
      origins = allowedOrigins();
      allowed = new Set(origins);
    }
    const origin = req.headers.origin;
    const ok = typeof origin === "string" && allowed.has(origin.toLowerCase());
    if (ok) {
      res.setHeader("Access-Control-Allow-Origin", origin);
      res.setHeader("Access-Control-Expose-Headers", EXPOSE_HEADERS);
    }
    // The answer depends on Origin: caches must not hand one origin's answer to another.
    if (allowed.size > 0) res.setHeader("Vary", "Origin");
    if (req.method === "OPTIONS" && req.headers["access-control-request-method"] !== undefined) {
      if (ok) {
        res.setHeader("Access-Control-Allow-Methods", ALLOW_METHODS);
        res.setHeader("Access-Control-Allow-Headers", ALLOW_HEADERS);
        res.setHeader("Access-Control-Max-Age", MAX_AGE_S);
      }
      res.writeHead(204);
      res.end();
      return;
    }
    handler(req, res);
  };
}
