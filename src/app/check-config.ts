// `--check-config`: validates the environment and config file the service would start with, prints
// the verdict and returns the exit code (0 valid, 2 invalid). Nothing is connected to.
import { ConfigError, loadConfig } from "../config/config.js";
import { parseDatabaseUrl } from "../db/pool.js";

export function checkConfig(
  env: NodeJS.ProcessEnv = process.env,
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr,
): number {
  try {
    const config = loadConfig(env);
    parseDatabaseUrl(config.databaseUrl);
    const file = config.configFile ?? "no config file (dev defaults)";
    out.write(`config OK: ${file}: ${config.accounts.size} account(s), ${config.apiKeys.length} API key(s)\n`);
    return 0;
  } catch (e) {
    // Config and URL errors name the setting, never a secret.
    if (!(e instanceof ConfigError) && !(e instanceof Error && e.message.startsWith("DATABASE_URL"))) throw e;
    err.write(`invalid config: ${e.message}\n`);
    return 2;
  }
}
