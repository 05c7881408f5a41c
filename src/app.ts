// The composition root shared by main.ts and the tests: config -> pool -> migrate -> clock ->
// tailer -> sender + rescuer + retention -> handlers -> one listening port. stop() undoes it in
// reverse.
import type { Config } from "./config.js";
import { DatabaseClock, type Clock } from "./clock.js";
import { createLogger, type Logger } from "./log.js";
import { consecutiveAutoIncrement, createPool, ensureDatabase, type Pool } from "./outbox/db.js";
import { GroupCommit } from "./outbox/group-commit.js";
import { createRegistry } from "@bufbuild/protobuf";
import { BadRequestSchema, ErrorInfoSchema } from "../gen/google/rpc/error_details_pb.js";
import { migrate } from "./outbox/migrate.js";
import { EmailServiceHandlers } from "./handlers/email-service.js";
import { MailboxServiceHandlers } from "./handlers/mailbox-service.js";
import { accountServiceHandlers } from "./handlers/account-service.js";
import { webhookServiceHandlers } from "./handlers/webhook-service.js";
import { templateServiceHandlers } from "./handlers/template-service.js";
import { CompiledTemplates } from "./templates/compiled.js";
import { errorInterceptor } from "./handlers/interceptors.js";
import { authInterceptor } from "./auth/interceptor.js";
import { logSecurityPosture } from "./auth/warnings.js";
import { Sender } from "./sender/sender.js";
import { createRescuer, type Rescuer } from "./sender/rescuer.js";
import { listen, type Listener, type RequestHandler } from "./server/listen.js";
import { watchOverGrpc } from "./server/watch-grpc.js";
import { gatedAdapter } from "./server/rpc-gate.js";
import { RequestBudget } from "./server/request-budget.js";
import { withCors } from "./server/cors.js";
import { withSpecGrpcMessage } from "./server/grpc-message.js";
import { deadlineInterceptor } from "./server/deadline.js";
import { APPLICATION_SERVICES, routes } from "./server/routes.js";
import { httpFallback } from "./server/http-routes.js";
import { createHealth, type HealthService } from "./standard/health.js";
import { HealthCheckResponse_ServingStatus as Serving } from "../gen/grpc/health/v1/health_pb.js";
import { EventTailer } from "./watch/tailer.js";
import { WatchStreamSlots, watchStreamLimits } from "./watch/stream-limits.js";
import { createEventPruner, type EventPruner } from "./watch/event-pruner.js";
import { Metrics } from "./metrics/metrics.js";
import { cachedOutboxStats } from "./metrics/outbox-stats-cache.js";
import { rpcMetricsInterceptor } from "./metrics/rpc-interceptor.js";
import { listenMetrics, type MetricsListener } from "./metrics/metrics-server.js";
import { DatabasePing } from "./outbox/ping.js";
import { DatabaseProbe } from "./health/database-probe.js";
import { OutboxRetention } from "./retention/outbox-retention.js";
import { mergeReload } from "./reload.js";
import { FleetLock } from "./background/fleet-lock.js";
import { configuredEndpoints, keyOf, WebhookDispatcher } from "./webhooks/dispatcher.js";
import { oldestOpen } from "./outbox/webhook-deliveries.js";
import type { Resolve } from "./webhooks/ssrf.js";
import { ImapInbound } from "./mailbox/imap-inbound.js";

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
  /** Deletes events past watch.event_retention_ms (runs with the background roles). */
  readonly pruner: EventPruner;
  /** Deletes finished rows past retention.outbox_ms (runs with the background roles). */
  readonly retention: OutboxRetention;
  /** Pushes outbox events to the accounts' webhook endpoints (runs with the background roles). */
  readonly webhooks: WebhookDispatcher;
  /** Ingests the accounts' IMAP mailboxes (runs with the background roles). */
  readonly inbound: ImapInbound;
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

/**
 * Room for attachments on every protocol: the default 32 MiB of attachments is 42.7 MiB as base64
 * in Connect JSON. Anything larger is refused with RESOURCE_EXHAUSTED before it is buffered.
 */
const READ_MAX_BYTES = 48 * 1024 * 1024;

export async function startApp(opts: AppOptions): Promise<App> {
  let config = opts.config;
  const log = opts.log ?? createLogger();
  await ensureDatabase(config.databaseUrl);
  const pool = createPool(config.databaseUrl, 20);
  let listener: Listener | undefined;
  let dbClock: DatabaseClock | undefined;
  let started: EventTailer | undefined;
  let metricsListener: MetricsListener | undefined;
  try {
    const applied = await migrate(pool);
    if (applied.length) log.info({ applied }, "migrations applied");
    let clock = opts.clock;
    if (!clock) {
      dbClock = new DatabaseClock(pool);
      await dbClock.start();
      clock = dbClock;
    }
    const tailer = new EventTailer(pool, log, config.watch.pollIntervalMs, config.watch.bufferSize);
    started = tailer;
    await tailer.start();
    const metrics = new Metrics({ processMetrics: opts.processMetrics, tagLabels: () => config.metrics.tagLabels });
    // Events committed here reach watchers and webhook endpoints at once; other instances' within a poll.
    const webhooks = new WebhookDispatcher({
      pool, clock, log, config: () => config, metrics, pollMs: config.watch.pollIntervalMs, resolve: opts.resolve,
    });
    const eventsCommitted = () => {
      tailer.notify();
      webhooks.wake();
    };
    const sender = new Sender(config, pool, clock, log, eventsCommitted, metrics);
    const rescueEvery = Math.min(30_000, Math.max(250, Math.floor(config.sender.leaseMs / 4)));
    const rescuer = createRescuer(pool, clock, log, rescueEvery, () => config.sender.maxRescues, () => {
      tailer.notify();
      sender.wake();
    }, (r) => {
      metrics.rescued.inc({ outcome: "requeued" }, r.requeued);
      metrics.rescued.inc({ outcome: "dead" }, r.dead);
    });
    const health = createHealth(Serving.SERVING, APPLICATION_SERVICES);
    const probe = new DatabaseProbe(new DatabasePing(config.databaseUrl, 2_000), health, log);
    const pruner = createEventPruner(pool, clock, log, config.watch.eventRetentionMs);
    const retention = new OutboxRetention(pool, clock, log, () => config, (n) => metrics.retentionDeleted.inc(n));
    const maintenance = new FleetLock(config.databaseUrl, log);
    const inbound = new ImapInbound({ databaseUrl: config.databaseUrl, pool, clock, log, metrics, messageIdDomain: () => config.messageIdDomain });
    for (const role of [rescuer, pruner, retention]) role.gateWith(() => maintenance.held);
    metrics.observe({
      outboxStats: cachedOutboxStats(pool, log), clock, watchStreams: () => tailer.subscriberCount, databaseUp: () => probe.reachable,
      maintenance: () => maintenance.held,
    });
    metrics.observeWebhooks({
      clock, paused: () => webhooks.paused(), endpoints: () => configuredEndpoints(config).map(keyOf),
      oldestOpen: () => oldestOpen(pool, configuredEndpoints(config)),
    });
    let stopping: Promise<void> | undefined;
    const requestBudget = new RequestBudget(config.server.requestBytesInFlight);
    const commits = new GroupCommit(pool, clock, {
      consecutiveIds: await consecutiveAutoIncrement(pool),
      handoff: sender.handoff,
      onCommit: (dueLeft) => {
        eventsCommitted();
        if (dueLeft) sender.wake();
      },
    });
    const templates = new CompiledTemplates(pool);
    const handlers = new EmailServiceHandlers({ config: () => config, pool, clock, sender, tailer, commits, log, templates });
    const watchSlots = new WatchStreamSlots(() => config.watch);
    const adapter = gatedAdapter({
      routes: routes(
        { email: handlers, mailbox: new MailboxServiceHandlers({ config: () => config, pool, clock }), accounts: accountServiceHandlers(() => config),
          webhooks: webhookServiceHandlers({ config: () => config, pool, clock, wake: () => webhooks.wake() }),
          templates: templateServiceHandlers({ config: () => config, pool, clock, templates }) },
        health,
      ),
      readMaxBytes: READ_MAX_BYTES,
      // Strict JSON: a misspelt field or an enum name this server does not know is refused, not
      // silently dropped (which could turn "bcc" into no bcc at all).
      // The error details inside SendBatch results are google.protobuf.Any: JSON needs their types.
      jsonOptions: { ignoreUnknownFields: false, registry: createRegistry(ErrorInfoSchema, BadRequestSchema) },
      interceptors: [rpcMetricsInterceptor(metrics), errorInterceptor(log), deadlineInterceptor(), authInterceptor(() => config.apiKeys, log),
        watchStreamLimits(watchSlots)],
      fallback: httpFallback({ pool, metrics: config.metrics.listen ? undefined : metrics, keys: () => config.apiKeys, stopping: () => stopping !== undefined,
        webhooksPaused: () => webhooks.paused().length }),
    }, { keys: () => config.apiKeys, budget: requestBudget, log });
    const watchGrpc = watchOverGrpc({ handlers, keys: () => config.apiKeys, slots: watchSlots, clock, metrics, log });
    const serveRpc: RequestHandler = (req, res) => {
      if (!watchGrpc(req, res)) adapter(req, res);
    };
    logSecurityPosture(config, log);
    listener = await listen(withCors(withSpecGrpcMessage(serveRpc), () => config.cors.allowedOrigins), config.host, config.port, config.server, config.tls);
    if (config.metrics.listen) {
      metricsListener = await listenMetrics(metrics, config.metrics.listen.host, config.metrics.listen.port);
      log.info({ host: config.metrics.listen.host, port: metricsListener.port }, "metrics listening");
    }
    probe.start();
    if (opts.background !== false) {
      await maintenance.start();
      sender.start();
      rescuer.start();
      pruner.start();
      retention.start();
      webhooks.start();
      await inbound.start(config);
    }
    const port = listener.port;
    const l = listener;
    log.info({ host: config.host, port }, "listening");

    return {
      port,
      url: `${config.tls ? "https" : "http"}://${config.host.includes(":") ? `[${config.host}]` : config.host}:${port}`,
      pool,
      sender,
      rescuer,
      tailer,
      pruner,
      retention,
      webhooks,
      inbound,
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
        if (opts.background !== false && !stopping) void inbound.reconfigure(config);
        return merged.restartOnly;
      },
      stop() {
        stopping ??= (async () => {
          health.shutdown();
          await inbound.stop();
          await sender.stop();
          await webhooks.stop();
          await rescuer.stop();
          await pruner.stop();
          await retention.stop();
          await maintenance.stop();
          await probe.stop();
          await tailer.stop();
          await l.close();
          await metricsListener?.close();
          dbClock?.stop();
          await pool.end();
          log.info("stopped");
        })();
        return stopping;
      },
    };
  } catch (err) {
    // Undo what started, so a failed start leaves nothing polling a closed pool.
    await listener?.close(0);
    await metricsListener?.close();
    await started?.stop();
    dbClock?.stop();
    await pool.end().catch(() => undefined);
    throw err;
  }
}
