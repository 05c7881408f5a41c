// Plain HTTP endpoints beside the RPCs: the dashboard page, liveness and readiness probes, and
// Prometheus metrics (on this port behind the `metrics` scope, unless metrics.listen moves them).
import type { ConnectNodeAdapterOptions } from "@connectrpc/connect-node";
import { presentedKey } from "./auth/authenticate.js";
import type { ApiKey } from "./auth/keys.js";
import type { Metrics } from "../metrics/metrics.js";
import type { Pool } from "../db/pool.js";
import { isMigrated } from "../db/migrate.js";
import { isDashboardPath, serveDashboard } from "./dashboard.js";
import type { OpenBreaker } from "../delivery/relay-breakers.js";

type Handler = NonNullable<ConnectNodeAdapterOptions["fallback"]>;
type Res = Parameters<Handler>[1];

export interface HttpDeps {
  pool: Pool;
  /** Served at /metrics; leave out when metrics have a listener of their own. */
  metrics?: Metrics;
  /** With keys configured, /metrics needs one with the `metrics` scope. */
  keys?: () => readonly ApiKey[];
  /** True once the server is stopping: not ready for new work. */
  stopping?: () => boolean;
  /** Webhook endpoints paused after failing: counted in /readyz (ready still; mail goes on). */
  webhooksPaused?: () => number;
  /** Relays whose breaker is not closed: listed in /readyz (ready still; the other relays take the mail). */
  relayBreakers?: () => Promise<readonly OpenBreaker[]>;
}

export function httpFallback(deps: HttpDeps): Handler {
  return (req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method === "GET" && isDashboardPath(path)) return serveDashboard(path, res);
    if (req.method === "GET" && path === "/healthz") return reply(res, 200, { status: "ok" });
    if (req.method === "GET" && path === "/metrics" && deps.metrics) {
      const refused = metricsRefusal(deps.keys?.() ?? [], req.headers.authorization);
      return refused ? reply(res, refused.status, { error: refused.error }) : serveMetrics(deps.metrics, res);
    }
    if (req.method === "GET" && path === "/readyz") {
      if (deps.stopping?.()) return reply(res, 503, { status: "stopping" });
      Promise.all([isMigrated(deps.pool), deps.relayBreakers?.() ?? []]).then(
        ([ok, breakers]) => {
          const paused = deps.webhooksPaused?.() ?? 0;
          reply(res, ok ? 200 : 503, {
            status: ok ? "ready" : "migrations pending",
            ...(paused ? { webhooks_paused: paused } : {}),
            ...(breakers.length ? { relay_breakers: breakers.map(breakerDetail) } : {}),
          });
        },
        () => reply(res, 503, { status: "database unreachable" }),
      );
      return;
    }
    reply(res, 404, { error: "not found" });
  };
}

function breakerDetail(b: OpenBreaker) {
  return { account_id: b.accountId, relay: b.relay, state: b.state, open_until: new Date(b.openUntil).toISOString() };
}

/** Per-account volumes are not for anyone who can reach the port: a key with `metrics` is. */
function metricsRefusal(keys: readonly ApiKey[], authorization: string | string[] | undefined) {
  if (keys.length === 0) return undefined;
  const key = presentedKey(keys, Array.isArray(authorization) ? authorization[0] : authorization);
  if (!key) return { status: 401, error: "send an API key with the metrics scope as 'authorization: Bearer <key>'" };
  if (!key.scopes.has("metrics")) return { status: 403, error: "the API key lacks the scope metrics" };
  return undefined;
}

/** Prometheus text format; gauges read from the database are computed now (cached briefly). */
export function serveMetrics(metrics: Metrics, res: Res): void {
  metrics.registry.metrics().then(
    (text) => {
      res.writeHead(200, { "content-type": metrics.registry.contentType, "content-length": Buffer.byteLength(text) });
      res.end(text);
    },
    () => reply(res, 500, { error: "metrics unavailable" }),
  );
}

function reply(res: Res, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}
