// The composition root shared by main.ts and the tests: builds every part, then starts them as one
// ordered list (database, clock, tailer, listening ports, probe, background roles); stop() and a
// failed start stop them in reverse.
import type { Config } from "../config/config.js";
import { DatabaseClock, type Clock } from "../db/clock.js";
import { createLogger, type Logger } from "../lib/log.js";
import { consecutiveAutoIncrement, createPool, ensureDatabase, type Pool } from "../db/pool.js";
import { GroupCommit } from "../outbox/group-commit.js";
import { createRegistry } from "@bufbuild/protobuf";
import { BadRequestSchema, ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { migrate } from "../db/migrate.js";
import { EmailServiceHandlers } from "../api/handlers/email-service.js";
import { MailboxServiceHandlers } from "../api/handlers/mailbox-service.js";
import { accountServiceHandlers } from "../api/handlers/account-service.js";
import { webhookServiceHandlers } from "../api/handlers/webhook-service.js";
import { templateServiceHandlers } from "../api/handlers/template-service.js";
import { CompiledTemplates } from "../templates/compiled.js";
import { errorInterceptor } from "../api/handlers/interceptors.js";
import { authInterceptor } from "../api/auth/interceptor.js";
import { logSecurityPosture } from "../api/auth/warnings.js";
import { Sender } from "../delivery/sender.js";
import { storedMime } from "../delivery/mime.js";
import { createRescuer, type Rescuer } from "../maintenance/rescuer.js";
import { listen, type Listener, type RequestHandler } from "../api/listen.js";
import { watchOverGrpc } from "../api/watch-grpc.js";
import { gatedAdapter, READ_MAX_BYTES } from "../api/rpc-gate.js";
import { RequestBudget } from "../api/request-budget.js";
import { withCors } from "../api/cors.js";
import { withSpecGrpcMessage } from "../api/grpc-message.js";
import { deadlineInterceptor } from "../api/deadline.js";
import { APPLICATION_SERVICES, routes, servedServices } from "../api/routes.js";
import { unaryOverGrpc } from "../api/unary-grpc.js";
import { httpFallback } from "../api/http-routes.js";
import { createHealth, type HealthService } from "../api/standard/health.js";
import { HealthCheckResponse_ServingStatus as Serving } from "../../gen/grpc/health/v1/health_pb.js";
import { EventTailer } from "../events/watch/tailer.js";
import { WatchStreamSlots, watchStreamLimits } from "../api/stream-limits.js";
import { createEventPruner, type EventPruner } from "../maintenance/event-pruner.js";
import { Metrics } from "../metrics/metrics.js";
import { cachedOutboxStats } from "../metrics/outbox-stats-cache.js";
import { rpcMetricsInterceptor } from "../metrics/rpc-interceptor.js";
import { listenMetrics, type MetricsListener } from "../api/metrics-server.js";
import { DatabasePing } from "../db/ping.js";
import { DatabaseProbe } from "../api/standard/database-probe.js";
import { OutboxRetention } from "../maintenance/outbox-retention.js";
import { mergeReload } from "./reload.js";
import { FleetLock } from "../db/fleet-lock.js";
import { fenceOf } from "../db/fleet-lease.js";
import { configuredEndpoints, keyOf, WebhookDispatcher } from "../events/webhooks/dispatcher.js";
import { oldestOpen } from "../outbox/webhook-deliveries.js";
import type { Resolve } from "../events/webhooks/ssrf.js";
import { ImapInbound } from "../inbound/mailbox/imap-inbound.js";
import { service, startInOrder, type Service } from "./services.js";
import { RequestIntake } from "../api/outbox-request/intake.js";
import { oldestPendingAgeMs } from "../outbox/requests.js";

export interface AppOptions {
  config: Config;
  /** Defaults to the database clock. Tests pass a clock they control. */
  clock?: Clock;
  log?: Logger;
  /** Run the sender and rescuer (tests of the request path alone may turn them off). */
  background?: boolean;
  /** Also export process metrics (CPU, memory, event loop); once per process, so main.ts only. */
  processMetrics?: boolean;
  /** DNS for the webhooks' SSRF check (tests pass their own). */
  resolve?: Resolve;
}

export interface App {
  readonly port: number;
  readonly url: string;
  readonly pool: Pool;
  readonly sender: Sender;
  readonly rescuer: Rescuer;
  readonly tailer: EventTailer;
  /** The open WatchOutbox streams, per API key and in total. */
  readonly watchSlots: WatchStreamSlots;
  /** Deletes events past watch.event_retention_ms (runs with the background roles). */
  readonly pruner: EventPruner;
  /** Deletes finished rows past retention.outbox_ms (runs with the background roles). */
  readonly retention: OutboxRetention;
  /** Pushes outbox events to the accounts' webhook endpoints (runs with the background roles). */
  readonly webhooks: WebhookDispatcher;
  /** Ingests the accounts' IMAP mailboxes (runs with the background roles). */
  readonly inbound: ImapInbound;
  /** Takes the requests applications commit to outbox_request (runs with the background roles). */
  readonly requests: RequestIntake;
  /** Pings the database; health is NOT_SERVING while it fails. */
  readonly probe: DatabaseProbe;
  readonly health: HealthService;
  readonly metrics: Metrics;
  /** The port of metrics.listen, when configured. */
  readonly metricsPort?: number;
  /** Request bytes held by requests in flight (server.request_bytes_in_flight). */
  readonly requestBudget: RequestBudget;
  readonly config: Config;
  /**
   * Applies a new config (accounts, limits, keys, CORS) without dropping streams or in-flight
   * sends. Returns the changed settings that wait for a restart (listen address, database, …).
   */
  reload(config: Config): string[];
  /** Graceful stop; resolves when everything is closed. */
  stop(): Promise<void>;
}

export async function startApp(opts: AppOptions): Promise<App> {
  let config = opts.config;
  const log = opts.log ?? createLogger();
  const background = opts.background !== false;
  // Everything is built first and nothing runs until the services below start, in order.
  const pool = createPool(config.databaseUrl, 20);
  const dbClock = opts.clock ? undefined : new DatabaseClock(pool);
  const clock = opts.clock ?? dbClock!;
  const tailer = new EventTailer(pool, log, config.watch.pollIntervalMs, config.watch.bufferSize);
  const metrics = new Metrics({ processMetrics: opts.processMetrics, tagLabels: () => config.metrics.tagLabels });
  // Events committed here reach watchers and webhook endpoints at once; other instances' within a poll.
  const webhooks = new WebhookDispatcher({
    pool,
    clock,
    log,
    config: () => config,
    metrics,
    pollMs: config.watch.pollIntervalMs,
    resolve: opts.resolve,
  });
  const eventsCommitted = () => {
    tailer.notify();
    webhooks.wake();
  };
  const sender = new Sender(config, pool, clock, log, eventsCommitted, metrics);
  // One instance of the fleet runs maintenance, its writes fenced by the lease.
  const maintenance = new FleetLock(pool, log);
  const fence = fenceOf("maintenance", () => maintenance.lease);
  const rescueEvery = Math.min(30_000, Math.max(250, Math.floor(config.sender.leaseMs / 4)));
  const rescuer = createRescuer(
    pool,
    clock,
    log,
    rescueEvery,
    () => config.sender.maxRescues,
    () => {
      tailer.notify();
      sender.wake();
    },
    (r) => {
      metrics.rescued.inc({ outcome: "requeued" }, r.requeued);
      metrics.rescued.inc({ outcome: "dead" }, r.dead);
    },
    fence,
  );
  const health = createHealth(Serving.SERVING, APPLICATION_SERVICES);
  const probe = new DatabaseProbe(new DatabasePing(config.databaseUrl, 2_000), health, log);
  const pruner = createEventPruner(pool, clock, log, config.watch.eventRetentionMs, undefined, fence);
  const retention = new OutboxRetention(
    pool,
    clock,
    log,
    () => config,
    (n) => metrics.retentionDeleted.inc(n),
    undefined,
    fence,
  );
  const inbound = new ImapInbound({ pool, clock, log, metrics, messageIdDomain: () => config.messageIdDomain });
  // Every instance takes committed outbox_request rows; claims skip the ones another holds.
  const templates = new CompiledTemplates(pool);
  const requests = new RequestIntake({
    pool,
    clock,
    log,
    config: () => config,
    metrics,
    templates,
    onCommit: () => {
      eventsCommitted();
      sender.wake();
    },
  });
  for (const role of [rescuer, pruner, retention]) role.gateWith(() => maintenance.held);
  metrics.observe({
    outboxStats: cachedOutboxStats(pool, log),
    clock,
    watchStreams: () => tailer.subscriberCount,
    databaseUp: () => probe.reachable,
    maintenance: () => maintenance.held,
  });
  metrics.observeRequests({ oldestPendingMs: () => oldestPendingAgeMs(pool) });
  const openRelayBreakers = () => sender.relayBreakers.notClosed(config.accounts.values());
  metrics.observeRelays({
    relays: () => [...config.accounts.values()].flatMap((a) => a.relays.map((r) => ({ accountId: a.id, relay: r.name }))),
    notClosed: openRelayBreakers,
  });
  metrics.observeWebhooks({
    clock,
    paused: () => webhooks.paused(),
    endpoints: () => configuredEndpoints(config).map(keyOf),
    oldestOpen: () => oldestOpen(pool, configuredEndpoints(config)),
  });
  let stopping: Promise<void> | undefined;
  const requestBudget = new RequestBudget(config.server.requestBytesInFlight);
  const watchSlots = new WatchStreamSlots(() => config.watch);

  /** The RPC side, built once the database is ready: the group commit asks it how ids are given out. */
  const serveRequests = async (): Promise<RequestHandler> => {
    const commits = new GroupCommit(pool, clock, {
      consecutiveIds: await consecutiveAutoIncrement(pool),
      handoff: sender.handoff,
      compose: storedMime,
      onCommit: (dueLeft) => {
        eventsCommitted();
        if (dueLeft) sender.wake();
      },
    });
    const handlers = new EmailServiceHandlers({ config: () => config, pool, clock, sender, tailer, commits, log, templates });
    const served = servedServices(
      {
        email: handlers,
        mailbox: new MailboxServiceHandlers({ config: () => config, pool, clock, log, metrics }),
        accounts: accountServiceHandlers({ config: () => config, pool, clock }),
        webhooks: webhookServiceHandlers({ config: () => config, pool, clock, wake: () => webhooks.wake() }),
        templates: templateServiceHandlers({ config: () => config, pool, clock, templates }),
      },
      health,
    );
    const adapter = gatedAdapter(
      {
        routes: routes(served),
        readMaxBytes: READ_MAX_BYTES,
        // Strict JSON: a misspelt field or an enum name this server does not know is refused, not
        // silently dropped (which could turn "bcc" into no bcc at all).
        // The error details inside SendBatch results are google.protobuf.Any: JSON needs their types.
        jsonOptions: { ignoreUnknownFields: false, registry: createRegistry(ErrorInfoSchema, BadRequestSchema) },
        interceptors: [
          rpcMetricsInterceptor(metrics),
          errorInterceptor(log),
          deadlineInterceptor(),
          authInterceptor(() => config.apiKeys, log),
          watchStreamLimits(watchSlots),
        ],
        fallback: httpFallback({
          pool,
          metrics: config.metrics.listen ? undefined : metrics,
          keys: () => config.apiKeys,
          stopping: () => stopping !== undefined,
          webhooksPaused: () => webhooks.paused().length,
          relayBreakers: openRelayBreakers,
        }),
      },
      { keys: () => config.apiKeys, budget: requestBudget, log },
    );
    const watchGrpc = watchOverGrpc({ handlers, keys: () => config.apiKeys, slots: watchSlots, clock, metrics, log });
    const unaryGrpc = unaryOverGrpc({
      services: served,
      keys: () => config.apiKeys,
      budget: requestBudget,
      readMaxBytes: READ_MAX_BYTES,
      metrics,
      log,
    });
    const serveRpc: RequestHandler = (req, res) => {
      if (!unaryGrpc(req, res) && !watchGrpc(req, res)) adapter(req, res);
    };
    return withCors(withSpecGrpcMessage(serveRpc), () => config.cors.allowedOrigins);
  };

  let listener: Listener | undefined;
  let metricsListener: MetricsListener | undefined;
  const metricsAt = config.metrics.listen;
  // Started in this order, stopped in reverse (services.ts). The background roles stop first, while
  // the port still answers: attempts under way finish and report, and readiness says "stopping".
  const services: Service[] = [
    {
      name: "database",
      start: async () => {
        try {
          await ensureDatabase(config.databaseUrl);
          const applied = await migrate(pool);
          if (applied.length) log.info({ applied }, "migrations applied");
        } catch (err) {
          await pool.end().catch(() => undefined);
          throw err;
        }
      },
      stop: () => pool.end(),
    },
    ...(dbClock ? [service("database clock", dbClock)] : []),
    // Before the port opens: a stream that subscribes must find the tailer's position set.
    service("event tailer", tailer),
    ...(metricsAt
      ? [
          {
            name: "metrics listener",
            start: async () => {
              metricsListener = await listenMetrics(metrics, metricsAt.host, metricsAt.port);
              log.info({ host: metricsAt.host, port: metricsListener.port }, "metrics listening");
            },
            stop: () => metricsListener!.close(),
          },
        ]
      : []),
    {
      name: "listener",
      start: async () => {
        const handler = await serveRequests();
        logSecurityPosture(config, log);
        listener = await listen(handler, config.host, config.port, config.server, config.tls);
      },
      stop: () => listener!.close(),
    },
    // Open streams end (UNAVAILABLE, with a resume point) before the listener closes under them.
    { name: "watch streams", start: async () => undefined, stop: () => tailer.stop() },
    service("database probe", probe),
    ...(background
      ? [
          service("maintenance lock", maintenance),
          service("outbox retention", retention),
          service("event pruner", pruner),
          service("rescuer", rescuer),
          // Webhooks stop after the sender, so the outcomes of its last attempts are still pushed.
          service("webhooks", webhooks),
          service("sender", sender),
          service("outbox requests", requests),
          { name: "imap ingest", start: () => inbound.start(config), stop: () => inbound.stop() },
        ]
      : []),
  ];
  const stopServices = await startInOrder(services, log);
  const port = listener!.port;
  log.info({ host: config.host, port }, "listening");

  return {
    port,
    url: `${config.tls ? "https" : "http"}://${config.host.includes(":") ? `[${config.host}]` : config.host}:${port}`,
    pool,
    sender,
    rescuer,
    tailer,
    watchSlots,
    pruner,
    retention,
    webhooks,
    inbound,
    requests,
    probe,
    health,
    metrics,
    requestBudget,
    metricsPort: metricsListener?.port,
    get config() {
      return config;
    },
    reload(next) {
      const merged = mergeReload(config, next);
      config = merged.config;
      sender.reconfigure(config);
      if (background && !stopping) void inbound.reconfigure(config);
      return merged.restartOnly;
    },
    stop() {
      stopping ??= (async () => {
        health.shutdown();
        await stopServices();
        log.info("stopped");
      })();
      return stopping;
    },
  };
}
