// The service's entry point: load the config, start, and stop gracefully on SIGTERM/SIGINT
// (a second signal forces the exit).
import { ConfigError, loadConfig } from "./config.js";
import { createLogger } from "./log.js";
import { startApp } from "./app.js";

const log = createLogger();

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
  if (!config.configFile) log.warn("no EMAIL_OUTBOX_CONFIG: dev mode, account 1 writes .eml files to ./mail-out");
  const app = await startApp({ config, log });

  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      log.warn({ signal }, "second signal: exiting now");
      process.exit(1);
    }
    log.info({ signal }, "stopping");
    app.stop().then(
      () => {
        process.exitCode = 0;
        // Anything still holding the event loop open now is a bug; do not hang a deploy on it.
        setTimeout(() => process.exit(0), 1_000).unref();
      },
      (err: unknown) => {
        log.error({ err: (err as Error).message }, "stop failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
}

main().catch((err: unknown) => {
  log.fatal({ err: (err as Error).message }, "failed to start");
  process.exitCode = 1;
});
