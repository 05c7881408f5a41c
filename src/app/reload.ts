// Config reload (SIGHUP): re-read the file and apply what can change while running (accounts,
// limits, API keys, CORS, retention, sender tuning); streams and attempts under way go on. A file
// that does not validate changes nothing. Where to listen and which database need a restart.
import { ConfigError, loadConfig, type Config } from "../config/config.js";
import type { Logger } from "../lib/log.js";
import type { Metrics } from "../metrics/metrics.js";

/** What a reload needs of the running app (App, in app.ts, is one). */
export interface Reloadable {
  /** Applies next; returns the changed settings that wait for a restart. */
  reload(next: Config): string[];
  readonly metrics: Pick<Metrics, "configReloads">;
}

/** Settings a running process keeps: the listener, the database and the watch tailer use them. */
const RESTART_ONLY = ["databaseUrl", "host", "port", "tls", "watch", "server", "metrics"] as const;

/** The config to run with after a reload, and the settings whose change waits for a restart. */
export function mergeReload(current: Config, next: Config): { config: Config; restartOnly: string[] } {
  const restartOnly = RESTART_ONLY.filter((key) => JSON.stringify(current[key]) !== JSON.stringify(next[key]));
  const kept = Object.fromEntries(RESTART_ONLY.map((key) => [key, current[key]]));
  return { config: Object.freeze({ ...next, ...kept }), restartOnly };
}

/** Re-reads the config file into `app`. Returns false (and logs why) when the file is refused. */
export function reloadFromFile(app: Reloadable, log: Logger, env: NodeJS.ProcessEnv = process.env): boolean {
  let next: Config;
  try {
    next = loadConfig(env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    app.metrics.configReloads.inc({ result: "rejected" });
    log.error({ reason: err.message }, "config reload rejected; the current config stays");
    return false;
  }
  const restartOnly = app.reload(next);
  app.metrics.configReloads.inc({ result: "applied" });
  if (restartOnly.length > 0) log.warn({ settings: restartOnly }, "changed settings take effect after a restart");
  log.info({ accounts: [...next.accounts.keys()], api_keys: next.apiKeys.length }, "config reloaded");
  return true;
}
