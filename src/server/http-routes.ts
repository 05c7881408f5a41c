// Plain HTTP endpoints beside the RPCs: the dashboard page, liveness and readiness probes.
import type { ConnectNodeAdapterOptions } from "@connectrpc/connect-node";
import type { Pool } from "../outbox/db.js";
import { isMigrated } from "../outbox/migrate.js";
import { isDashboardPath, serveDashboard } from "./dashboard.js";

type Handler = NonNullable<ConnectNodeAdapterOptions["fallback"]>;
type Res = Parameters<Handler>[1];

export function httpFallback(deps: { pool: Pool }): Handler {
  return (req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method === "GET" && isDashboardPath(path)) return serveDashboard(path, res);
    if (req.method === "GET" && path === "/healthz") return reply(res, 200, { status: "ok" });
    if (req.method === "GET" && path === "/readyz") {
      isMigrated(deps.pool).then(
        (ok) => reply(res, ok ? 200 : 503, { status: ok ? "ready" : "migrations pending" }),
        () => reply(res, 503, { status: "database unreachable" }),
      );
      return;
    }
    reply(res, 404, { error: "not found" });
  };
}

function reply(res: Res, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}
