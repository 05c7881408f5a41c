// The composition root shared by main.ts and the tests: config -> pool -> migrate -> clock ->
// tailer -> sender + rescuer -> handlers -> one listening port. stop() undoes it in reverse.
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { Config } from "./config.js";
import { DatabaseClock, type Clock } from "./clock.js";
import { createLogger, type Logger } from "./log.js";
import { createPool, ensureDatabase, type Pool } from "./outbox/db.js";
import { migrate } from "./outbox/migrate.js";
import { EmailServiceHandlers } from "./handlers/email-service.js";
import { errorInterceptor } from "./handlers/interceptors.js";
import { Sender } from "./sender/sender.js";
import { Rescuer } from "./sender/rescuer.js";
import { listen, type Listener } from "./server/listen.js";
import { routes } from "./server/routes.js";
import { httpFallback } from "./server/http-routes.js";
import { createHealth, type HealthService } from "./standard/health.js";
import { HealthCheckResponse_ServingStatus as Serving } from "../gen/grpc/health/v1/health_pb.js";
import { EventTailer } from "./watch/tailer.js";

export interface AppOptions {
  config: Config;
  /** Defaults to the database clock. Tests pass a clock they control. */
  clock?: Clock;
  log?: Logger;
  /** Run the sender and rescuer (tests of the request path alone may turn them off). */
  background?: boolean;
}

export interface App {
  readonly port: number;
  readonly url: string;
  readonly pool: Pool;
  readonly sender: Sender;
  readonly rescuer: Rescuer;
  readonly tailer: EventTailer;
  readonly health: HealthService;
  readonly config: Config;
  /** Applies a new config (accounts, limits) without dropping streams or in-flight sends. */
  reload(config: Config): void;
  /** Graceful stop; resolves when everything is closed. */
  stop(): Promise<void>;
}

/** Most RPCs are small; this bound leaves room for attachments and keeps abuse cheap. */
const READ_MAX_BYTES = 48 * 1024 * 1024;

export async function startApp(opts: AppOptions): Promise<App> {
  let config = opts.config;
  const log = opts.log ?? createLogger();
  await ensureDatabase(config.databaseUrl);
  const pool = createPool(config.databaseUrl, 20);
  let listener: Listener | undefined;
  let dbClock: DatabaseClock | undefined;
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
    await tailer.start();
    const sender = new Sender(config, pool, clock, log, () => tailer.notify());
    const rescueEvery = Math.min(30_000, Math.max(250, Math.floor(config.sender.leaseMs / 4)));
    const rescuer = new Rescuer(pool, clock, log, rescueEvery, () => {
      tailer.notify();
      sender.wake();
    });
    const health = createHealth(Serving.SERVING);
    const handlers = new EmailServiceHandlers({ config: () => config, pool, clock, sender, tailer });
    const adapter = connectNodeAdapter({
      routes: routes(handlers, health),
      readMaxBytes: READ_MAX_BYTES,
      interceptors: [errorInterceptor(log)],
      fallback: httpFallback({ pool }),
    });
    listener = await listen(adapter, config.host, config.port);
    if (opts.background !== false) {
      sender.start();
      rescuer.start();
    }
    const port = listener.port;
    const l = listener;
    log.info({ host: config.host, port }, "listening");

    let stopping: Promise<void> | undefined;
    return {
      port,
      url: `http://${config.host.includes(":") ? `[${config.host}]` : config.host}:${port}`,
      pool,
      sender,
      rescuer,
      tailer,
      health,
      get config() {
        return config;
      },
      reload(next) {
        config = next;
        sender.reconfigure(next);
      },
      stop() {
        stopping ??= (async () => {
          health.shutdown();
          await sender.stop();
          await rescuer.stop();
          await tailer.stop();
          await l.close();
          dbClock?.stop();
          await pool.end();
          log.info("stopped");
        })();
        return stopping;
      },
    };
  } catch (err) {
    await listener?.close(0);
    dbClock?.stop();
    await pool.end().catch(() => undefined);
    throw err;
  }
}
