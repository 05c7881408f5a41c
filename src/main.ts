// The service's entry point: load the config, start, reload the config on SIGHUP, and stop
// gracefully on SIGTERM/SIGINT (a second signal forces the exit). `--check-config` only validates
// the config and exits (0 valid, 2 invalid).
import { ConfigError, loadConfig } from "./config/config.js";
import { createLogger } from "./lib/log.js";
import { startApp, type App } from "./app/app.js";
import { checkConfig } from "./app/check-config.js";
import { reloadFromFile } from "./app/reload.js";
import { provideLocalDatabase, type PrivateMariaDb } from "./app/local-database.js";

const log = createLogger();
/** The private MariaDB started for a machine with none (stopped with the service). */
let localDb: PrivateMariaDb | undefined;

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      log.fatal({ reason: err.message }, "invalid configuration");
      process.exitCode = 2;
      return;
    }
    throw err;
  }
  localDb = await provideLocalDatabase(process.env, log);
  if (localDb) config = loadConfig();
  if (!config.configFile) log.warn("no EMAIL_OUTBOX_CONFIG: dev mode, account 1 writes .eml files to ./mail-out");
  // Handled from the start: SIGHUP's default action would end the process.
  let started: App | undefined;
  process.on("SIGHUP", () => {
    if (started) reloadFromFile(started, log);
    else log.warn("SIGHUP while starting: config reload ignored");
  });
  const app = await startApp({ config, log, processMetrics: true });
  started = app;

  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      log.warn({ signal }, "second signal: exiting now");
      void localDb?.stop();
      process.exit(1);
    }
    log.info({ signal }, "stopping");
    app
      .stop()
      .then(() => localDb?.stop())
      .then(
        () => {
          process.exitCode = 0;
          // Anything still holding the event loop open now is a bug; do not hang a deploy on it.
          setTimeout(() => process.exit(0), 1_000).unref();
        },
        (err: unknown) => {
          log.error({ err: (err as Error).message }, "stop failed");
          void localDb?.stop();
          process.exit(1);
        },
      );
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
}

if (process.argv.includes("--check-config")) {
  process.exitCode = checkConfig();
} else {
  // A start that failed exits at once with its cause: a supervisor must not see a live process.
  main().catch(async (err: unknown) => {
    log.fatal({ err: (err as Error).message, code: (err as { code?: string }).code }, "failed to start");
    await localDb?.stop();
    process.exit(1);
  });
}
