// grpc.health.v1.Health, as load balancers and orchestrators (Kubernetes gRPC probes) expect it.
// Statuses are state, not events: a watcher re-reads the current status when woken, so bursts of
// changes coalesce and a slow client never queues up stale statuses.
import type { ConnectRouter, HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { Code, ConnectError } from "@connectrpc/connect";
import type { HealthCheckRequest } from "../../../gen/grpc/health/v1/health_pb.js";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../../../gen/grpc/health/v1/health_pb.js";

export interface HealthService {
  register(router: ConnectRouter): void;
  /** The service's implementation, for paths that serve it beside the router. */
  readonly impl: ServiceImpl<typeof Health>;
  /** Sets one service's status; "" is the whole server. Ignored after shutdown(). */
  set(service: string, status: Status): void;
  /** Sets every known service, including "". Ignored after shutdown(). */
  setAll(status: Status): void;
  /** Marks everything NOT_SERVING, tells watchers, then ends their streams. */
  shutdown(): void;
  /** Open Watch streams; lets tests prove cancelled clients leave nothing behind. */
  listenerCount(): number;
}

/** `services`: the names answered besides "" (the whole server), all starting at `initial`. */
export function createHealth(initial: Status = Status.SERVING, services: readonly string[] = []): HealthService {
  const statuses = new Map<string, Status>(["", ...services].map((name) => [name, initial]));
  const listeners = new Set<() => void>();
  let closed = false;
  const notify = () => listeners.forEach((wake) => wake());

  async function* watch(req: HealthCheckRequest, ctx: HandlerContext) {
    let resolve = () => {};
    const wake = () => resolve();
    listeners.add(wake);
    ctx.signal.addEventListener("abort", wake);
    try {
      let sent: Status | undefined;
      for (;;) {
        // Re-arm, then re-read: wake-ups that came while we were suspended in yield are covered.
        const changed = new Promise<void>((r) => (resolve = r));
        // Per the spec an unknown service is not an error for Watch: it may be registered later.
        const status = statuses.get(req.service) ?? Status.SERVICE_UNKNOWN;
        if (status !== sent) {
          sent = status;
          yield { status };
          continue;
        }
        if (closed || ctx.signal.aborted) return;
        await changed;
      }
    } finally {
      listeners.delete(wake);
      ctx.signal.removeEventListener("abort", wake);
    }
  }

  const impl: ServiceImpl<typeof Health> = {
    check(req) {
      const status = statuses.get(req.service);
      if (status === undefined) throw new ConnectError(`unknown service "${req.service}"`, Code.NotFound);
      return { status };
    },
    watch,
  };

  return {
    register: (router) => router.service(Health, impl),
    impl,
    set(service, status) {
      // Once draining, nothing may flip the server back to SERVING.
      if (closed) return;
      statuses.set(service, status);
      notify();
    },
    setAll(status) {
      if (closed) return;
      for (const service of statuses.keys()) statuses.set(service, status);
      notify();
    },
    shutdown() {
      for (const service of statuses.keys()) statuses.set(service, Status.NOT_SERVING);
      closed = true;
      notify();
    },
    listenerCount: () => listeners.size,
  };
}
