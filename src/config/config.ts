// Environment + JSON config file -> one typed, validated, frozen Config.
// Every error names the account (or key) it is about and never echoes a secret.
import { createPrivateKey } from "node:crypto";
import { accessSync, constants, readFileSync } from "node:fs";
import path from "node:path";
import { DEFAULT_ATTACHMENT_POLICY, mediaType, type AttachmentPolicy } from "../message/attachment-policy.js";
import type { ApiKey } from "../api/auth/keys.js";
import { isLoopbackHost } from "../api/auth/loopback.js";
import { isScope, SCOPES, type Scope } from "../api/auth/scopes.js";
import { ConfigError } from "./error.js";
import { unknownKey } from "./unknown-keys.js";
import type { VerpConfig } from "../message/verp.js";
import { parseReasonClasses, type ReasonClasses } from "./reason-classes.js";
import { allowedFromEntry, ownAddress } from "../message/sender-identity.js";
import { MAX_TAGS, TAG_TEXT } from "../message/tags.js";
import { parseWebhooks, type WebhookConfig } from "./webhooks.js";

export type TlsMode = "implicit" | "starttls" | "none";

export type SmtpAuth =
  | { kind: "password"; user: string; password: string }
  | { kind: "oauth2"; user: string; accessToken: string }
  | { kind: "oauth2-refresh"; user: string; client: OAuth2Client };

/** An OAuth2 client that trades its refresh token for short-lived access tokens (RFC 6749 §6). */
export interface OAuth2Client {
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  refreshToken: string;
  scope?: string;
}

/** DKIM signing for an account's mail (RFC 6376, rsa-sha256, relaxed/relaxed). */
export interface DkimConfig {
  domain: string;
  selector: string;
  /** PKCS#8 PEM, checked at load to be an RSA key of at least 1024 bits. */
  privateKey: string;
}

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

/** An account's IMAP mailbox, whose mail is ingested like IngestMessage (src/inbound/mailbox/imap-inbound.ts). */
export interface ImapConfig {
  host: string;
  port: number;
  tls: TlsMode;
  /** A password or a static OAuth2 access token (no refresh for IMAP). */
  auth: Extract<SmtpAuth, { kind: "password" | "oauth2" }>;
  /** The mailboxes watched, each on a connection of its own; ["INBOX"] by default. */
  mailboxes: readonly string[];
  rejectUnauthorized: boolean;
}

export interface AccountConfig {
  id: number;
  /** The From header, e.g. "Ops <ops@example.com>". */
  from: string;
  /**
   * Other From addresses a message may set (normalised "user@domain" or "*@domain"); the
   * account's own is always allowed. Empty unless configured.
   */
  allowedFrom?: readonly string[];
  /** Exactly one of smtp (real delivery) and fileDir (dev: .eml files in a folder). */
  smtp?: SmtpConfig;
  fileDir?: string;
  /** Pace limits: max_per_second holds across the fleet (src/outbox/pace.ts); a slow-down pause too. */
  rateLimit?: RateLimitConfig;
  /** VERP: each message's envelope sender names its row, so bounces match it unforgeably. */
  verp?: VerpConfig;
  /** Suppress an address after this many reports of a soft-class reason about it within the window. */
  softBounces?: { limit: number; windowMs: number };
  /** Which bounce reasons suppress, count as soft or never suppress; undefined: the taxonomy's defaults. */
  reasonClasses?: ReasonClasses;
  /** undefined: mail goes out unsigned. */
  dkim?: DkimConfig;
  /** HTTP endpoints this account's outbox events are pushed to (none by default). */
  webhooks: readonly WebhookConfig[];
  /** Inbound mail: one instance at a time keeps this mailbox ingested. */
  imap?: ImapConfig;
}

export interface RateLimitConfig {
  /** Attempts started per second (a token bucket); undefined: no limit. */
  maxPerSecond?: number;
  /** Attempts that may start back to back after a quiet spell: the bucket's size. */
  burst: number;
  /** After a 421 or 4.7.x ("slow down") reply the account starts nothing for this long. */
  slowDownPauseMs: number;
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
  /** After this many lease rescues with no attempt finished in between, the row goes DEAD (RESCUE_LIMIT). */
  maxRescues: number;
  /** Graceful stop: how long in-flight attempts may take to finish. */
  shutdownTimeoutMs: number;
}

export interface WatchConfig {
  pollIntervalMs: number;
  heartbeatMs: number;
  /** Events buffered per stream before a slow consumer is cut off. */
  bufferSize: number;
  /** Events older than this are deleted; resuming from one is refused with OUT_OF_RANGE. */
  eventRetentionMs: number;
  /** Open WatchOutbox streams on this instance; past it RESOURCE_EXHAUSTED. */
  maxStreams: number;
  /** Open WatchOutbox streams of one API key on this instance. */
  maxStreamsPerKey: number;
}

/** Limits on what clients may make the server hold: bytes, connections, streams, time. */
export interface ServerConfig {
  /** Request bytes all requests in flight may hold together; past it RESOURCE_EXHAUSTED. */
  requestBytesInFlight: number;
  /** A new connection must send its first request (cleartext) or finish TLS within this. */
  firstBytesTimeoutMs: number;
  /** A connection or HTTP/2 session with no traffic for this long is closed. */
  idleTimeoutMs: number;
  /** HTTP/2 streams one connection may have open at once. */
  maxConcurrentStreams: number;
}

export interface RetentionConfig {
  /** Sent, cancelled and dead rows are deleted this long after their last change. */
  outboxMs: number;
  /**
   * Received messages (MailboxService) are deleted this long after they were stored. Sent mail
   * recorded for Reply goes with its outbox row instead.
   */
  mailMessageMs: number;
  /** Rows deleted per short transaction. */
  batchSize: number;
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
  server: ServerConfig;
  metrics: {
    /** Where /metrics is served: undefined means on the API port, behind the `metrics` scope. */
    listen?: { host: string; port: number };
    /** Tag names counted in email_outbox_finalized_by_tag_total (others are not, to bound label cardinality). */
    tagLabels: readonly string[];
  };
  retention: RetentionConfig;
  attachmentPolicy: AttachmentPolicy;
  /** The folder path attachments are read from; without it, path attachments are refused. */
  attachmentStore?: { dir: string };
  /** Empty: authentication is off (allowed only on loopback or with allowUnauthenticated). */
  apiKeys: readonly ApiKey[];
  allowUnauthenticated: boolean;
  /** Serve HTTPS (HTTP/2 and HTTP/1.1 by ALPN) instead of cleartext. */
  tls?: { certFile: string; keyFile: string };
  /** Browser origins allowed to call the API; none by default. */
  cors: { allowedOrigins: readonly string[] };
  /** The file it was read from, if any (for reload and messages). */
  configFile?: string;
}

export { ConfigError };

export const DEFAULT_DATABASE_URL = "mysql://root@127.0.0.1:3306/email_outbox";
const DEFAULT_MESSAGE_ID_DOMAIN = "prx-email.local";

export const DEFAULT_SENDER: SenderConfig = Object.freeze({
  batchSize: 32,
  maxInFlight: 64,
  pollIntervalMs: 1000,
  leaseMs: 5 * 60_000,
  // 5 s × 2^min(n,10): the first nine delays add up to 85 min, then 85 min each, so 25 attempts
  // span about a day.
  maxAttempts: 25,
  maxRescues: 5,
  shutdownTimeoutMs: 30_000,
});

export const DEFAULT_WATCH: WatchConfig = Object.freeze({
  pollIntervalMs: 200,
  heartbeatMs: 15_000,
  bufferSize: 1000,
  eventRetentionMs: 7 * 24 * 3_600_000,
  maxStreams: 1000,
  maxStreamsPerKey: 100,
});

export const DEFAULT_SERVER: ServerConfig = Object.freeze({
  // Ten 25 MiB attachments in flight at once fit; a 2-core box's spare memory is not at risk.
  requestBytesInFlight: 256 * 1024 * 1024,
  firstBytesTimeoutMs: 10_000,
  // Longer than the longest quiet RPC (a Send with wait_for_attempt waits up to 60 s).
  idleTimeoutMs: 300_000,
  maxConcurrentStreams: 100,
});

export const DEFAULT_RETENTION: RetentionConfig = Object.freeze({
  outboxMs: 30 * 24 * 3_600_000,
  mailMessageMs: 90 * 24 * 3_600_000,
  batchSize: 500,
});

export const DEFAULT_SLOW_DOWN_PAUSE_MS = 30_000;

/** Node's timers cannot wait longer (2^31 - 1 ms, about 24.8 days): a longer value fires at once. */
const MAX_TIMER_MS = 2_147_483_647;
/** Settings in ms that are ages, not timer delays, and may exceed MAX_TIMER_MS. */
const AGES = new Set(["mailMessageMs", "eventRetentionMs", "outboxMs", "softBounceWindowMs"]);

type Json = Record<string, unknown>;

const HOST_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

// The settings each object of the config file may hold; anything else is refused by name.
const TOP_LEVEL_KEYS = [
  "accounts", "message_id_domain", "allow_failure_mode", "sender", "watch", "server", "metrics", "retention",
  "attachment_policy", "attachment_store", "api_keys", "allow_unauthenticated", "tls", "cors",
];
const ACCOUNT_KEYS = ["id", "from", "allowed_from", "file_dir", "smtp", "imap", "rate_limit", "dkim", "verp", "suppression", "webhooks"];
const SMTP_KEYS = [
  "host", "port", "tls", "user", "auth", "tls_reject_unauthorized",
  "max_connections", "connection_timeout_ms", "greeting_timeout_ms", "socket_timeout_ms",
];
const SMTP_AUTH_KEYS = ["password", "password_env", "oauth_token", "oauth_token_env", "oauth2"];
const IMAP_AUTH_KEYS = ["password", "password_env", "oauth_token", "oauth_token_env"];
const IMAP_KEYS = ["host", "port", "tls", "user", "auth", "mailboxes", "tls_reject_unauthorized"];
const API_KEY_KEYS = ["id", "sha256", "accounts", "scopes"];

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
  knownKeys(json, "", TOP_LEVEL_KEYS);
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

  const MAX_MESSAGE_ID_DOMAIN = 200;
  const domain = optString(json.message_id_domain, "message_id_domain") ?? DEFAULT_MESSAGE_ID_DOMAIN;
  if (!HOST_NAME.test(domain)) {
    throw new ConfigError("message_id_domain must be a host name");
  }
  // "<outbox-{id}-{n}@domain>" must fit outbox.message_id (VARCHAR(255)) with 20-digit ids.
  if (domain.length > MAX_MESSAGE_ID_DOMAIN) throw new ConfigError(`message_id_domain must be at most ${MAX_MESSAGE_ID_DOMAIN} characters`);

  // "[::1]" as in a URL means the address ::1.
  const host = (env.HOST || "127.0.0.1").trim().replace(/^\[(.*)\]$/, "$1");
  const apiKeys = parseApiKeys(json.api_keys);
  const allowUnauthenticated = optBool(json.allow_unauthenticated, "allow_unauthenticated") ?? false;
  if (apiKeys.length === 0 && !allowUnauthenticated && !isLoopbackHost(host)) {
    throw new ConfigError(`HOST ${host} is not loopback: configure api_keys, or set allow_unauthenticated: true`);
  }

  return Object.freeze({
    databaseUrl: env.DATABASE_URL || DEFAULT_DATABASE_URL,
    host,
    port,
    accounts,
    messageIdDomain: domain,
    allowFailureMode: optBool(json.allow_failure_mode, "allow_failure_mode") ?? false,
    sender: Object.freeze(parseNumbers(json.sender, "sender", DEFAULT_SENDER)),
    watch: Object.freeze(parseNumbers(json.watch, "watch", DEFAULT_WATCH)),
    server: Object.freeze(parseNumbers(json.server, "server", DEFAULT_SERVER)),
    metrics: parseMetrics(json.metrics),
    retention: Object.freeze(parseNumbers(json.retention, "retention", DEFAULT_RETENTION)),
    attachmentPolicy: parseAttachmentPolicy(json.attachment_policy),
    attachmentStore: parseAttachmentStore(json.attachment_store, baseDir),
    apiKeys,
    allowUnauthenticated,
    tls: parseTls(json.tls, baseDir),
    cors: Object.freeze({ allowedOrigins: parseOrigins(json.cors) }),
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
  knownKeys(obj, `${where}: `, ACCOUNT_KEYS);
  const from = optString(obj.from, `${where}: from`);
  if (!from || /[\r\n\0]/.test(from)) throw new ConfigError(`${where}: from is required (one address, no line breaks)`);
  const allowedFrom = parseAllowedFrom(obj.allowed_from, from, where);
  const fileDir = optString(obj.file_dir, `${where}: file_dir`);
  const rateLimit = parseRateLimit(obj.rate_limit, where);
  const reports = { verp: parseVerp(obj.verp, env, where), ...parseSuppression(obj.suppression, where) };
  const dkim = parseDkim(obj.dkim, env, baseDir, where);
  const webhooks = parseWebhooks(obj.webhooks, env, where);
  const imap = obj.imap === undefined ? undefined : parseImap(asObject(obj.imap, `${where}: imap`), env, where);
  if (obj.smtp !== undefined && fileDir !== undefined) throw new ConfigError(`${where}: set smtp or file_dir, not both`);
  if (fileDir !== undefined) return Object.freeze({ id, from, allowedFrom, fileDir: path.resolve(baseDir, fileDir), rateLimit, dkim, webhooks, imap, ...reports });
  if (obj.smtp === undefined) throw new ConfigError(`${where}: smtp is required`);
  return Object.freeze({ id, from, allowedFrom, smtp: parseSmtp(asObject(obj.smtp, `${where}: smtp`), env, where), rateLimit, dkim, webhooks, imap, ...reports });
}

/** `verp`: { domain, secret_env }: bounces come back to bounce+{outbox_id}-{hmac}@domain. */
function parseVerp(raw: unknown, env: NodeJS.ProcessEnv, where: string): VerpConfig | undefined {
  if (raw === undefined) return undefined;
  const obj = asObject(raw, `${where}: verp`);
  knownKeys(obj, `${where}: verp.`, ["domain", "secret_env"]);
  const domain = optString(obj.domain, `${where}: verp.domain`) ?? "";
  if (!HOST_NAME.test(domain)) throw new ConfigError(`${where}: verp.domain must be a host name`);
  const name = optString(obj.secret_env, `${where}: verp.secret_env`);
  if (!name) throw new ConfigError(`${where}: verp.secret_env must name a variable`);
  const secret = env[name];
  if (!secret || secret.length < 16) throw new ConfigError(`${where}: environment variable ${name} (verp.secret_env) must hold at least 16 characters`);
  return Object.freeze({ domain: domain.toLowerCase(), secret });
}

/**
 * `suppression`: { soft_bounce_limit, soft_bounce_window_ms (default 7 days), reason_classes }; the
 * soft rule is off without a limit; reason_classes is read by src/config/reason-classes.ts.
 */
function parseSuppression(raw: unknown, where: string): Pick<AccountConfig, "softBounces" | "reasonClasses"> {
  if (raw === undefined) return {};
  const { reason_classes: classes, ...rest } = asObject(raw, `${where}: suppression`);
  const n = parseNumbers(rest, `${where}: suppression`, { softBounceLimit: 0, softBounceWindowMs: 7 * 24 * 3_600_000 }, ["reason_classes"]);
  const parsed = classes === undefined ? undefined : parseReasonClasses(classes, `${where}: suppression.reason_classes`);
  if (parsed && "error" in parsed) throw new ConfigError(parsed.error);
  return {
    softBounces: n.softBounceLimit > 0 ? Object.freeze({ limit: n.softBounceLimit, windowMs: n.softBounceWindowMs }) : undefined,
    reasonClasses: parsed?.classes,
  };
}

/**
 * `allowed_from`: ["news@example.com", "*@example.org"]. The envelope sender stays the address of
 * `from`, so with allowed_from that must be one mailbox.
 */
function parseAllowedFrom(raw: unknown, from: string, where: string): readonly string[] | undefined {
  if (raw === undefined) return undefined;
  if (!Array.isArray(raw) || !raw.every((e) => typeof e === "string")) {
    throw new ConfigError(`${where}: allowed_from must be a list of addresses or "*@domain" patterns`);
  }
  if (ownAddress(from) === undefined) throw new ConfigError(`${where}: with allowed_from, from must be one address (the envelope sender)`);
  return Object.freeze(raw.map((entry: string) => {
    try {
      return allowedFromEntry(entry);
    } catch (err) {
      throw new ConfigError(`${where}: allowed_from: ${JSON.stringify(entry)} is not an address or "*@domain" (${(err as Error).message})`);
    }
  }));
}

/** `rate_limit`: { max_per_second (may be fractional), burst, slow_down_pause_ms }. */
function parseRateLimit(raw: unknown, where: string): RateLimitConfig | undefined {
  if (raw === undefined) return undefined;
  const { max_per_second: rate, ...rest } = asObject(raw, `${where}: rate_limit`);
  const defaults = { burst: Math.max(1, Math.ceil(typeof rate === "number" ? rate : 1)), slowDownPauseMs: DEFAULT_SLOW_DOWN_PAUSE_MS };
  const numbers = parseNumbers(rest, `${where}: rate_limit`, defaults, ["max_per_second"]);
  if (rate !== undefined && (typeof rate !== "number" || !Number.isFinite(rate) || rate <= 0 || rate > 1e6)) {
    throw new ConfigError(`${where}: rate_limit.max_per_second must be a number above 0`);
  }
  return Object.freeze({ maxPerSecond: rate, ...numbers });
}

function parseSmtp(smtp: Json, env: NodeJS.ProcessEnv, where: string): SmtpConfig {
  knownKeys(smtp, `${where}: smtp.`, SMTP_KEYS);
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

/** What an auth section may hold: SMTP also takes OAuth2 with a refresh token. */
function authChoices(section: string): string {
  return section === "smtp" ? "smtp.auth must set exactly one of password/oauth_token/oauth2" : `${section}.auth must set exactly one of password/oauth_token`;
}

/** `smtp.auth` or `imap.auth` (`section`): a password or an OAuth2 token for `user`. */
function parseAuth(auth: Json, user: string, env: NodeJS.ProcessEnv, where: string, section = "smtp"): SmtpAuth {
  const refreshable = section === "smtp";
  knownKeys(auth, `${where}: ${section}.auth.`, refreshable ? SMTP_AUTH_KEYS : IMAP_AUTH_KEYS);
  const password = secret(auth, "password", env, where, section);
  const token = secret(auth, "oauth_token", env, where, section);
  const client = refreshable && auth.oauth2 !== undefined ? parseOAuth2(auth.oauth2, env, where) : undefined;
  if ([password, token, client].filter((v) => v !== undefined).length !== 1) throw new ConfigError(`${where}: ${authChoices(section)}`);
  if (!user) throw new ConfigError(`${where}: ${section} user is required with ${section}.auth`);
  if (client) return Object.freeze({ kind: "oauth2-refresh", user, client });
  return password !== undefined ? { kind: "password", user, password } : { kind: "oauth2", user, accessToken: token! };
}

const OAUTH2_KEYS = new Set(["token_url", "client_id", "client_secret_env", "refresh_token_env", "scope"]);

/**
 * `smtp.auth.oauth2`: { token_url, client_id, client_secret_env, refresh_token_env, scope? }.
 * The two secrets come only from the environment, so a config file never holds them.
 */
function parseOAuth2(raw: unknown, env: NodeJS.ProcessEnv, where: string): OAuth2Client {
  const at = `${where}: smtp.auth.oauth2`;
  const obj = asObject(raw, at);
  for (const key of Object.keys(obj)) {
    if (key === "client_secret" || key === "refresh_token") throw new ConfigError(`${at}: ${key} must be given by environment variable (${key}_env)`);
  }
  knownKeys(obj, `${at}.`, [...OAUTH2_KEYS]);
  const tokenUrl = optString(obj.token_url, `${at}.token_url`) ?? "";
  let url: URL;
  try {
    url = new URL(tokenUrl);
  } catch {
    throw new ConfigError(`${at}.token_url must be an https:// URL`);
  }
  // The refresh token and client secret travel in the request body: never in clear over a network.
  const plainOk = url.protocol === "http:" && isLoopbackHost(url.hostname);
  if ((url.protocol !== "https:" && !plainOk) || url.username || url.password) {
    throw new ConfigError(`${at}.token_url must be an https:// URL without credentials (http:// only to a loopback host)`);
  }
  const clientId = optString(obj.client_id, `${at}.client_id`);
  if (!clientId || /[\p{Cc}]/u.test(clientId)) throw new ConfigError(`${at}.client_id is required (without control characters)`);
  const scope = optString(obj.scope, `${at}.scope`);
  // RFC 6749 §3.3: scope tokens of printable ASCII except '"' and '\', separated by single spaces.
  if (scope !== undefined && !/^[\x21\x23-\x5b\x5d-\x7e]+( [\x21\x23-\x5b\x5d-\x7e]+)*$/.test(scope)) {
    throw new ConfigError(`${at}.scope must be space-separated scope tokens`);
  }
  const fromEnv = (key: string): string => {
    const name = obj[key];
    if (typeof name !== "string" || name === "") throw new ConfigError(`${at}.${key} must name an environment variable`);
    const value = env[name];
    if (!value) throw new ConfigError(`${at}: environment variable ${name} (${key}) is not set`);
    return value;
  };
  return Object.freeze({
    tokenUrl: url.href,
    clientId,
    clientSecret: fromEnv("client_secret_env"),
    refreshToken: fromEnv("refresh_token_env"),
    scope,
  });
}

const DKIM_KEYS = new Set(["domain", "selector", "private_key_file", "private_key_env"]);
const DNS_LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
const DKIM_DOMAIN = new RegExp(`^${DNS_LABEL}(?:\\.${DNS_LABEL})+$`);
const DKIM_SELECTOR = new RegExp(`^${DNS_LABEL}(?:\\.${DNS_LABEL})*$`);

/**
 * `dkim`: { domain, selector, private_key_file | private_key_env }. The key is read and checked
 * here, so a bad key stops the start instead of sending unsigned mail; no error quotes it.
 */
function parseDkim(raw: unknown, env: NodeJS.ProcessEnv, baseDir: string, where: string): DkimConfig | undefined {
  if (raw === undefined) return undefined;
  const at = `${where}: dkim`;
  const obj = asObject(raw, at);
  knownKeys(obj, `${at}.`, [...DKIM_KEYS]);
  const domain = optString(obj.domain, `${at}.domain`)?.toLowerCase();
  if (!domain || domain.length > 253 || !DKIM_DOMAIN.test(domain)) throw new ConfigError(`${at}.domain must be a domain name such as example.com`);
  const selector = optString(obj.selector, `${at}.selector`)?.toLowerCase();
  if (!selector || !DKIM_SELECTOR.test(selector)) throw new ConfigError(`${at}.selector must be DNS labels such as mail2026`);
  const file = optString(obj.private_key_file, `${at}.private_key_file`);
  const envName = optString(obj.private_key_env, `${at}.private_key_env`);
  if ((file === undefined) === (envName === undefined)) throw new ConfigError(`${at}: set exactly one of private_key_file/private_key_env`);
  let source: string;
  let pem: string;
  if (file !== undefined) {
    const resolved = path.resolve(baseDir, file);
    source = `private_key_file ${resolved}`;
    try {
      pem = readFileSync(resolved, "utf8");
    } catch (err) {
      throw new ConfigError(`${at}: ${source} cannot be read (${(err as NodeJS.ErrnoException).code ?? "error"})`);
    }
  } else {
    source = `private_key_env ${envName}`;
    pem = env[envName!] ?? "";
    if (!pem) throw new ConfigError(`${at}: environment variable ${envName} (private_key_env) is not set`);
  }
  return Object.freeze({ domain, selector, privateKey: dkimKey(pem, `${at}: the key from ${source}`) });
}

/** An RSA private key of at least 1024 bits (RFC 8301) as PKCS#8 PEM; the message never quotes it. */
function dkimKey(pem: string, what: string): string {
  let key;
  try {
    key = createPrivateKey({ key: pem, format: "pem" });
  } catch {
    throw new ConfigError(`${what} is not an unencrypted PEM private key`);
  }
  // nodemailer's signer writes a=rsa-sha256 and signs with RSA only; Ed25519 (RFC 8463) it cannot.
  if (key.asymmetricKeyType !== "rsa") {
    throw new ConfigError(`${what} is ${key.asymmetricKeyType ?? "not RSA"}: only RSA keys can sign (nodemailer signs rsa-sha256 only)`);
  }
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < 1024) throw new ConfigError(`${what} has ${bits} bits: DKIM needs at least 1024 (2048 recommended)`);
  return key.export({ type: "pkcs8", format: "pem" }).toString();
}

/** A secret given inline (`password`) or by environment variable name (`password_env`). */
function secret(auth: Json, key: string, env: NodeJS.ProcessEnv, where: string, section: string): string | undefined {
  const inline = auth[key];
  const envName = auth[`${key}_env`];
  if (inline !== undefined && envName !== undefined) {
    throw new ConfigError(`${where}: ${authChoices(section)}`);
  }
  if (inline !== undefined) {
    if (typeof inline !== "string" || inline === "") throw new ConfigError(`${where}: ${section}.auth.${key} must be a non-empty string`);
    return inline;
  }
  if (envName === undefined) return undefined;
  if (typeof envName !== "string" || envName === "") throw new ConfigError(`${where}: ${section}.auth.${key}_env must name a variable`);
  const value = env[envName];
  if (!value) throw new ConfigError(`${where}: environment variable ${envName} (${section}.auth.${key}_env) is not set`);
  return value;
}

/** Mailbox names fit imap_mailbox_state.mailbox. */
const MAX_MAILBOX_NAME = 255;

/** `imap`: { host, port, tls, user, auth: {password | oauth_token (or *_env)}, mailboxes, tls_reject_unauthorized }. */
function parseImap(imap: Json, env: NodeJS.ProcessEnv, where: string): ImapConfig {
  knownKeys(imap, `${where}: imap.`, IMAP_KEYS);
  const host = typeof imap.host === "string" ? imap.host.trim() : "";
  if (!host) throw new ConfigError(`${where}: imap host is required`);
  const port = imap.port ?? (imap.tls === "starttls" || imap.tls === "none" ? 143 : 993);
  if (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new ConfigError(`${where}: imap port must be 1..65535`);
  }
  const tls = imap.tls ?? (port === 993 ? "implicit" : "starttls");
  if (tls !== "implicit" && tls !== "starttls" && tls !== "none") {
    throw new ConfigError(`${where}: imap tls must be implicit, starttls or none`);
  }
  const user = optString(imap.user, `${where}: imap user`) ?? "";
  if (imap.auth === undefined) throw new ConfigError(`${where}: imap.auth is required (password or oauth_token)`);
  // parseAuth takes oauth2 (refresh) only for smtp.
  const auth = parseAuth(asObject(imap.auth, `${where}: imap.auth`), user, env, where, "imap") as ImapConfig["auth"];
  const mailboxes = imap.mailboxes ?? ["INBOX"];
  const valid = (name: unknown) => typeof name === "string" && name.trim() !== "" && name.length <= MAX_MAILBOX_NAME && !/[\0-\x1f\x7f]/.test(name);
  if (!Array.isArray(mailboxes) || mailboxes.length === 0 || !mailboxes.every(valid)) {
    throw new ConfigError(`${where}: imap mailboxes must be a non-empty list of mailbox names (at most ${MAX_MAILBOX_NAME} characters, no control characters)`);
  }
  if (new Set(mailboxes).size !== mailboxes.length) throw new ConfigError(`${where}: imap mailboxes must not repeat a name`);
  return Object.freeze({
    host,
    port,
    tls,
    auth,
    mailboxes: Object.freeze([...(mailboxes as string[])]),
    rejectUnauthorized: optBool(imap.tls_reject_unauthorized, `${where}: imap tls_reject_unauthorized`) ?? true,
  });
}

/** `api_keys`: [{ id, sha256, accounts: [ids] | "*", scopes: [...] }]; the key itself is never here. */
function parseApiKeys(raw: unknown): ApiKey[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) throw new ConfigError("api_keys must be an array");
  const keys = raw.map((item, i): ApiKey => {
    const obj = asObject(item, `api_keys[${i}]`);
    knownKeys(obj, `api_keys[${i}].`, API_KEY_KEYS);
    const id = optString(obj.id, `api_keys[${i}]: id`);
    if (!id || !/^[A-Za-z0-9._-]{1,64}$/.test(id)) throw new ConfigError(`api_keys[${i}]: id must be 1-64 letters, digits, '.', '_' or '-'`);
    const where = `api key ${id}`;
    const sha256 = optString(obj.sha256, `${where}: sha256`);
    if (!sha256 || !/^[0-9a-f]{64}$/.test(sha256)) throw new ConfigError(`${where}: sha256 must be 64 lower-case hex digits`);
    const accounts = obj.accounts;
    const accountIds = Array.isArray(accounts) && accounts.every((a) => Number.isInteger(a) && (a as number) >= 1 && (a as number) <= 0xffffffff);
    if (accounts !== "*" && !(accountIds && accounts.length > 0)) {
      throw new ConfigError(`${where}: accounts must be "*" or a non-empty list of account ids`);
    }
    const scopes = obj.scopes;
    if (!Array.isArray(scopes) || scopes.length === 0 || !scopes.every(isScope)) {
      throw new ConfigError(`${where}: scopes must be a non-empty list of ${SCOPES.join(", ")}`);
    }
    return Object.freeze({
      id,
      sha256,
      accounts: accounts === "*" ? "all" : new Set(accounts as number[]),
      scopes: new Set<Scope>(scopes),
    });
  });
  const ids = new Set(keys.map((k) => k.id));
  if (ids.size !== keys.length) throw new ConfigError("api_keys: ids must be unique");
  if (new Set(keys.map((k) => k.sha256)).size !== keys.length) throw new ConfigError("api_keys: two entries have the same sha256");
  return keys;
}

/** `tls`: { cert_file, key_file }, both readable; relative paths are against the config file. */
function parseTls(raw: unknown, baseDir: string): Config["tls"] {
  if (raw === undefined) return undefined;
  const obj = asObject(raw, "tls");
  knownKeys(obj, "tls.", ["cert_file", "key_file"]);
  const file = (key: string) => {
    const value = optString(obj[key], `tls.${key}`);
    if (!value) throw new ConfigError(`tls.${key} is required`);
    const resolved = path.resolve(baseDir, value);
    try {
      accessSync(resolved, constants.R_OK);
    } catch {
      throw new ConfigError(`tls.${key} ${resolved} cannot be read`);
    }
    return resolved;
  };
  return Object.freeze({ certFile: file("cert_file"), keyFile: file("key_file") });
}

/**
 * `metrics.listen`: "host:port" (IPv6 in brackets) of a separate port for /metrics.
 * `metrics.tag_labels`: tag names the metrics count by (at most 10, tag-name syntax).
 */
function parseMetrics(raw: unknown): Config["metrics"] {
  if (raw === undefined) return Object.freeze({ tagLabels: [] });
  const obj = asObject(raw, "metrics");
  knownKeys(obj, "metrics.", ["listen", "tag_labels"]);
  const tagLabels = obj.tag_labels ?? [];
  if (!Array.isArray(tagLabels) || tagLabels.length > MAX_TAGS || !tagLabels.every((t) => typeof t === "string" && TAG_TEXT.test(t))) {
    throw new ConfigError(`metrics.tag_labels must be a list of at most ${MAX_TAGS} tag names (letters, digits, '_' or '-')`);
  }
  const labels = Object.freeze([...new Set(tagLabels as string[])]);
  const listen = optString(obj.listen, "metrics.listen");
  if (listen === undefined) return Object.freeze({ tagLabels: labels });
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(listen);
  const port = Number(m?.[3]);
  if (!m || port > 65535) throw new ConfigError(`metrics.listen must be host:port, e.g. 127.0.0.1:9464`);
  return Object.freeze({ listen: Object.freeze({ host: m[1] ?? m[2]!, port }), tagLabels: labels });
}

/** `cors.allowed_origins`: exact origins such as "https://app.example.com" (no paths, no "*"). */
function parseOrigins(raw: unknown): string[] {
  if (raw === undefined) return [];
  const cors = asObject(raw, "cors");
  knownKeys(cors, "cors.", ["allowed_origins"]);
  const origins = cors.allowed_origins ?? [];
  if (!Array.isArray(origins)) throw new ConfigError("cors.allowed_origins must be an array");
  for (const origin of origins) {
    if (typeof origin !== "string" || !/^https?:\/\/[A-Za-z0-9.\-]+(:\d{1,5})?$/.test(origin)) {
      throw new ConfigError(`cors.allowed_origins: ${JSON.stringify(origin)} is not an origin like https://app.example.com`);
    }
  }
  return origins.map((o: string) => o.toLowerCase());
}

/** `attachment_policy`: { max_size_bytes, max_total_bytes, allowed_content_types: ["type/subtype", …] }. */
function parseAttachmentPolicy(raw: unknown): AttachmentPolicy {
  if (raw === undefined) return DEFAULT_ATTACHMENT_POLICY;
  const { allowed_content_types: types, ...sizes } = asObject(raw, "attachment_policy");
  const { allowedContentTypes: defaultTypes, ...defaultSizes } = DEFAULT_ATTACHMENT_POLICY;
  let allowed = defaultTypes;
  if (types !== undefined) {
    if (!Array.isArray(types) || !types.every((t) => typeof t === "string" && mediaType(t) === t.trim().toLowerCase())) {
      throw new ConfigError("attachment_policy: allowed_content_types must be a list of type/subtype values");
    }
    allowed = Object.freeze(types.map((t: string) => t.trim().toLowerCase()));
  }
  const numbers = parseNumbers(sizes, "attachment_policy", defaultSizes, ["allowed_content_types"]);
  return Object.freeze({ ...numbers, allowedContentTypes: allowed });
}

/** `attachment_store`: { dir }; a relative dir is against the config file. */
function parseAttachmentStore(raw: unknown, baseDir: string): Config["attachmentStore"] {
  if (raw === undefined) return undefined;
  const store = asObject(raw, "attachment_store");
  knownKeys(store, "attachment_store.", ["dir"]);
  const dir = optString(store.dir, "attachment_store.dir");
  if (!dir) throw new ConfigError("attachment_store.dir is required");
  return Object.freeze({ dir: path.resolve(baseDir, dir) });
}

/** Reads snake_case positive integers over camelCase defaults; `others` are the object's other keys. */
function parseNumbers<T extends object>(raw: unknown, where: string, defaults: T, others: readonly string[] = []): T {
  const out: Record<string, number> = { ...(defaults as Record<string, number>) };
  if (raw === undefined) return out as T;
  const obj = asObject(raw, where);
  const snake = Object.keys(out).map((camel) => camel.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`));
  knownKeys(obj, `${where}.`, [...snake, ...others]);
  for (const [key, value] of Object.entries(obj)) {
    if (value === undefined) continue;
    const camel = key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
    if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
      throw new ConfigError(`${where}: ${key} must be a positive integer`);
    }
    if (camel.endsWith("Ms") && !AGES.has(camel) && value > MAX_TIMER_MS) {
      throw new ConfigError(`${where}: ${key} must be at most ${MAX_TIMER_MS} (about 24.8 days; Node timers cannot wait longer)`);
    }
    out[camel] = value;
  }
  return out as T;
}

function knownKeys(obj: Json, prefix: string, known: readonly string[]): void {
  const error = unknownKey(obj, prefix, known);
  if (error) throw new ConfigError(error);
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
