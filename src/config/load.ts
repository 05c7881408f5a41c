// Environment + JSON config file -> one typed, validated, frozen Config: the schema first (each
// section's shape and defaults), then the environment and the rules across settings. Every error
// names the account (or key) it is about and never echoes a secret.
import { accessSync, constants, readFileSync } from "node:fs";
import path from "node:path";
import * as v from "valibot";
import { isLoopbackHost } from "../api/auth/loopback.js";
import { accountConfig, type AccountConfig } from "./account.js";
import { ConfigError, isUnknownKey, issueText } from "./errors.js";
import { configSchema, type ConfigFile } from "./schema.js";

export type Config = Omit<ConfigFile, "$schema" | "accounts"> & {
  readonly databaseUrl: string;
  readonly host: string;
  readonly port: number;
  readonly accounts: ReadonlyMap<number, AccountConfig>;
  /** The file it was read from, if any (for reload and messages). */
  readonly configFile?: string;
};

export const DEFAULT_DATABASE_URL = "mysql://root@127.0.0.1:3306/email_outbox";

/** Reads the environment (and the file it names) into a Config; throws ConfigError. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const file = env.EMAIL_OUTBOX_CONFIG;
  let json: unknown = {};
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (err) {
      throw new ConfigError(`cannot read config file ${file}: ${(err as NodeJS.ErrnoException).code ?? "error"}`);
    }
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new ConfigError(`config file ${file} is not valid JSON: ${(err as Error).message}`);
    }
  }
  return parseConfig(json, env, file ? path.dirname(path.resolve(file)) : process.cwd(), file);
}

/** Validates a parsed config object. Relative paths resolve against baseDir. */
export function parseConfig(json: unknown, env: NodeJS.ProcessEnv, baseDir: string, configFile?: string): Config {
  // Read as the JSON it stands for: a key set to undefined is a key not given. A setting's checks
  // stop at its first failure: one message each, and a later check may rely on an earlier one.
  // Every check has a message of its own; the fallback is there so that none quotes a value.
  const parsed = v.safeParse(configSchema, JSON.parse(JSON.stringify(json)), { abortPipeEarly: true, message: "{path} is not valid" });
  if (!parsed.success) {
    // A misspelt key explains the rest (a required key missing, say), so it is named first.
    throw new ConfigError(issueText(parsed.issues.find(isUnknownKey) ?? parsed.issues[0]));
  }
  const { $schema: _, accounts: list, ...file } = parsed.output;

  const port = env.PORT === undefined || env.PORT === "" ? 8080 : Number(env.PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`PORT must be 0..65535`);
  // "[::1]" as in a URL means the address ::1.
  const host = (env.HOST || "127.0.0.1").trim().replace(/^\[(.*)\]$/, "$1");
  if (file.apiKeys.length === 0 && !file.allowUnauthenticated && !isLoopbackHost(host)) {
    throw new ConfigError(`HOST ${host} is not loopback: configure api_keys, or set allow_unauthenticated: true`);
  }

  const accounts = new Map<number, AccountConfig>();
  for (const account of list) {
    if (accounts.has(account.id)) throw new ConfigError(`account ${account.id}: duplicate id`);
    accounts.set(account.id, accountConfig(account, env, baseDir));
  }
  const { tls, attachmentStore } = file;
  return Object.freeze({
    ...file,
    databaseUrl: env.DATABASE_URL || DEFAULT_DATABASE_URL,
    host,
    port,
    accounts,
    attachmentStore: attachmentStore && Object.freeze({ dir: path.resolve(baseDir, attachmentStore.dir) }),
    tls:
      tls &&
      Object.freeze({
        certFile: readable(baseDir, tls.certFile, "tls.cert_file"),
        keyFile: readable(baseDir, tls.keyFile, "tls.key_file"),
      }),
    configFile,
  });
}

/** The file resolved against baseDir, checked to be readable now rather than at the first connection. */
function readable(baseDir: string, file: string, setting: string): string {
  const resolved = path.resolve(baseDir, file);
  try {
    accessSync(resolved, constants.R_OK);
  } catch {
    throw new ConfigError(`${setting} ${resolved} cannot be read`);
  }
  return resolved;
}
