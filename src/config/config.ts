// The config lives in src/config/; this re-export keeps the imports elsewhere as they were.
export { DEFAULT_SLOW_DOWN_PAUSE_MS, type TlsMode } from "./account-schema.js";
export { DEFAULT_RELAY, type AccountConfig, type ImapConfig, type RelayConfig, type SmtpConfig } from "./account.js";
export { ConfigError } from "./errors.js";
export { DEFAULT_DATABASE_URL, loadConfig, parseConfig, type Config } from "./load.js";
export type { DkimConfig, OAuth2Client, SmtpAuth } from "./secrets.js";
