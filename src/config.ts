// Environment + JSON config file -> one typed, validated, frozen Config.
// Every error names the account (or key) it is about and never echoes a secret.
import { readFileSync } from "node:fs";
import path from "node:path";

export type TlsMode = "implicit" | "starttls" | "none";

export type SmtpAuth =
  | { kind: "password"; user: string; password: string }
  | { kind: "oauth2"; user: string; accessToken: string };

export interface SmtpConfig {
  host: string;
  port: number;
  tls: TlsMode;
  auth?: SmtpAuth;
  rejectUnauthorized: boolean;
  maxConnections: number;
  connectionTimeoutMs: number;
  greetingTimeoutMs: number;
  socketTimeoutMs: number;
}

export interface AccountConfig {
  id: number;
  /** The From header, e.g. "Ops <ops@example.com>". */
  from: string;
  /** Exactly one of smtp (real delivery) and fileDir (dev: .eml files in a folder). */
  smtp?: SmtpConfig;
  fileDir?: string;
}

export interface SenderConfig {
  /** Rows claimed per query. */
  batchSize: number;
  /** Attempts under way at once on this instance. */
  maxInFlight: number;
  /** How often to look for rows due from other instances or from backoff. */
  pollIntervalMs: number;
  /** How long a claim is owned before the rescuer may hand it to another sender. */
  leaseMs: number;
  /** After this many failed attempts the row goes DEAD. */
  maxAttempts: number;
  /** Graceful stop: how long in-flight attempts may take to finish. */
  shutdownTimeoutMs: number;
}

export interface WatchConfig {
  pollIntervalMs: number;
  heartbeatMs: number;
  /** Events buffered per stream before a slow consumer is cut off. */
  bufferSize: number;
}

export interface Config {
  databaseUrl: string;
  host: string;
  port: number;
  accounts: ReadonlyMap<number, AccountConfig>;
  messageIdDomain: string;
  allowFailureMode: boolean;
  sender: SenderConfig;
  watch: WatchConfig;
  /** The file it was read from, if any (for reload and messages). */
  configFile?: string;
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

const DEFAULT_DATABASE_URL = "mysql://root@127.0.0.1:3306/email_outbox";
const DEFAULT_MESSAGE_ID_DOMAIN = "prx-email.local";

export const DEFAULT_SENDER: SenderConfig = Object.freeze({
  batchSize: 32,
  maxInFlight: 64,
  pollIntervalMs: 1000,
  leaseMs: 5 * 60_000,
  // 5 s × 2^min(n,10): the first nine delays add up to 85 min, then 85 min each, so 25 attempts
  // span about a day.
  maxAttempts: 25,
  shutdownTimeoutMs: 30_000,
});

export const DEFAULT_WATCH: WatchConfig = Object.freeze({
  pollIntervalMs: 200,
  heartbeatMs: 15_000,
  bufferSize: 1000,
});

type Json = Record<string, unknown>;

/** Reads the environment (and the file it names) into a Config; throws ConfigError. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const file = env.EMAIL_OUTBOX_CONFIG;
  let json: Json = {};
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (err) {
      throw new ConfigError(`cannot read config file ${file}: ${(err as NodeJS.ErrnoException).code ?? "error"}`);
    }
    try {
      json = asObject(JSON.parse(text), "config");
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      throw new ConfigError(`config file ${file} is not valid JSON: ${(err as Error).message}`);
    }
  }
  return parseConfig(json, env, file ? path.dirname(path.resolve(file)) : process.cwd(), file);
}

/** Validates a parsed config object. Relative paths resolve against baseDir. */
export function parseConfig(json: Json, env: NodeJS.ProcessEnv, baseDir: string, configFile?: string): Config {
  const port = env.PORT === undefined || env.PORT === "" ? 8080 : Number(env.PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`PORT must be 0..65535`);

  const accounts = new Map<number, AccountConfig>();
  const rawAccounts = json.accounts === undefined ? [devAccount()] : json.accounts;
  if (!Array.isArray(rawAccounts)) throw new ConfigError("accounts must be an array");
  for (const raw of rawAccounts) {
    const account = parseAccount(raw, env, baseDir);
    if (accounts.has(account.id)) throw new ConfigError(`account ${account.id}: duplicate id`);
    accounts.set(account.id, account);
  }

  const domain = optString(json.message_id_domain, "message_id_domain") ?? DEFAULT_MESSAGE_ID_DOMAIN;
  if (!/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/.test(domain)) {
    throw new ConfigError("message_id_domain must be a host name");
  }

  return Object.freeze({
    databaseUrl: env.DATABASE_URL || DEFAULT_DATABASE_URL,
    host: env.HOST || "127.0.0.1",
    port,
    accounts,
    messageIdDomain: domain,
    allowFailureMode: optBool(json.allow_failure_mode, "allow_failure_mode") ?? false,
    sender: Object.freeze(parseNumbers(json.sender, "sender", DEFAULT_SENDER)),
    watch: Object.freeze(parseNumbers(json.watch, "watch", DEFAULT_WATCH)),
    configFile,
  });
}

/** With no config file: one account whose mail is written as .eml files, for trying it out. */
function devAccount(): Json {
  return { id: 1, from: "Outbox Dev <dev@localhost.localdomain>", file_dir: "mail-out" };
}

function parseAccount(raw: unknown, env: NodeJS.ProcessEnv, baseDir: string): AccountConfig {
  const obj = asObject(raw, "account");
  const id = obj.id;
  if (typeof id !== "number" || !Number.isInteger(id) || id < 1 || id > 0xffffffff) {
    throw new ConfigError(`account ${JSON.stringify(id) ?? "?"}: id must be a positive integer`);
  }
  const where = `account ${id}`;
  const from = optString(obj.from, `${where}: from`);
  if (!from || /[\r\n\0]/.test(from)) throw new ConfigError(`${where}: from is required (one address, no line breaks)`);
  const fileDir = optString(obj.file_dir, `${where}: file_dir`);
  if (obj.smtp !== undefined && fileDir !== undefined) throw new ConfigError(`${where}: set smtp or file_dir, not both`);
  if (fileDir !== undefined) return Object.freeze({ id, from, fileDir: path.resolve(baseDir, fileDir) });
  if (obj.smtp === undefined) throw new ConfigError(`${where}: smtp is required`);
  return Object.freeze({ id, from, smtp: parseSmtp(asObject(obj.smtp, `${where}: smtp`), env, where) });
}

function parseSmtp(smtp: Json, env: NodeJS.ProcessEnv, where: string): SmtpConfig {
  const host = typeof smtp.host === "string" ? smtp.host.trim() : "";
  if (!host) throw new ConfigError(`${where}: smtp host is required`);
  const port = smtp.port ?? 587;
  if (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new ConfigError(`${where}: smtp port must be 1..65535`);
  }
  const tls = smtp.tls ?? (port === 465 ? "implicit" : "starttls");
  if (tls !== "implicit" && tls !== "starttls" && tls !== "none") {
    throw new ConfigError(`${where}: smtp tls must be implicit, starttls or none`);
  }
  const user = optString(smtp.user, `${where}: smtp user`) ?? "";
  const auth = smtp.auth === undefined ? undefined : parseAuth(asObject(smtp.auth, `${where}: smtp.auth`), user, env, where);
  const numbers = parseNumbers(
    { max_connections: smtp.max_connections, connection_timeout_ms: smtp.connection_timeout_ms,
      greeting_timeout_ms: smtp.greeting_timeout_ms, socket_timeout_ms: smtp.socket_timeout_ms },
    `${where}: smtp`,
    { maxConnections: 5, connectionTimeoutMs: 15_000, greetingTimeoutMs: 15_000, socketTimeoutMs: 60_000 },
  );
  return Object.freeze({
    host,
    port,
    tls,
    auth,
    rejectUnauthorized: optBool(smtp.tls_reject_unauthorized, `${where}: smtp tls_reject_unauthorized`) ?? true,
    ...numbers,
  });
}

function parseAuth(auth: Json, user: string, env: NodeJS.ProcessEnv, where: string): SmtpAuth {
  const password = secret(auth, "password", env, where);
  const token = secret(auth, "oauth_token", env, where);
  if ((password === undefined) === (token === undefined)) {
    throw new ConfigError(`${where}: smtp.auth must set exactly one of password/oauth_token`);
  }
  if (!user) throw new ConfigError(`${where}: smtp user is required with smtp.auth`);
  return password !== undefined ? { kind: "password", user, password } : { kind: "oauth2", user, accessToken: token! };
}

/** A secret given inline (`password`) or by environment variable name (`password_env`). */
function secret(auth: Json, key: string, env: NodeJS.ProcessEnv, where: string): string | undefined {
  const inline = auth[key];
  const envName = auth[`${key}_env`];
  if (inline !== undefined && envName !== undefined) {
    throw new ConfigError(`${where}: smtp.auth must set exactly one of password/oauth_token`);
  }
  if (inline !== undefined) {
    if (typeof inline !== "string" || inline === "") throw new ConfigError(`${where}: smtp.auth.${key} must be a non-empty string`);
    return inline;
  }
  if (envName === undefined) return undefined;
  if (typeof envName !== "string" || envName === "") throw new ConfigError(`${where}: smtp.auth.${key}_env must name a variable`);
  const value = env[envName];
  if (!value) throw new ConfigError(`${where}: environment variable ${envName} (smtp.auth.${key}_env) is not set`);
  return value;
}

/** Reads snake_case positive integers over camelCase defaults. */
function parseNumbers<T extends object>(raw: unknown, where: string, defaults: T): T {
  const out: Record<string, number> = { ...(defaults as Record<string, number>) };
  if (raw === undefined) return out as T;
  const obj = asObject(raw, where);
  for (const [key, value] of Object.entries(obj)) {
    if (value === undefined) continue;
    const camel = key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
    if (!(camel in out)) throw new ConfigError(`${where}: unknown setting ${key}`);
    if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
      throw new ConfigError(`${where}: ${key} must be a positive integer`);
    }
    out[camel] = value;
  }
  return out as T;
}

function asObject(value: unknown, where: string): Json {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new ConfigError(`${where} must be an object`);
  return value as Json;
}

function optString(value: unknown, where: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string") throw new ConfigError(`${where} must be a string`);
  return value;
}

function optBool(value: unknown, where: string): boolean | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "boolean") throw new ConfigError(`${where} must be true or false`);
  return value;
}
