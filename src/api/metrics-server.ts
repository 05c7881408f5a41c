// metrics.listen: /metrics on an address of its own (an internal interface, a sidecar's port),
// served without a key; the API port then has no /metrics.
import http from "node:http";
import type net from "node:net";
import { serveMetrics } from "./http-routes.js";
import { listenOn } from "./listen.js";
import type { Metrics } from "../metrics/metrics.js";

export interface MetricsListener {
  port: number;
  close(): Promise<void>;
}

export async function listenMetrics(metrics: Metrics, host: string, port: number): Promise<MetricsListener> {
  const server = http.createServer({ headersTimeout: 10_000, requestTimeout: 30_000 }, (req, res) => {
    if (req.method === "GET" && (req.url ?? "").split("?")[0] === "/metrics") return serveMetrics(metrics, res);
    res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
  });
  server.keepAliveTimeout = 5_000;
  await listenOn(server, host, port);
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
