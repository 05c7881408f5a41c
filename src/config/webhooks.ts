// `accounts[].webhooks[]`: the HTTP endpoints an account's outbox events are pushed to. Parsed
// here so the rules for one endpoint live in one place; src/config/config.ts calls parseWebhooks.
import { ConfigError } from "./error.js";
import { unknownKey } from "./unknown-keys.js";
import { OUTBOX_STATUSES, type OutboxStatus } from "../outbox/types.js";
import { MAX_TAGS, TAG_TEXT } from "../message/tags.js";
import { EVENT_NAMES, type EventName } from "../events/webhooks/payload.js";
import { SigningSecrets } from "../events/webhooks/signature.js";

export interface WebhookConfig {
  /** Names the endpoint within its account: its deliveries and cursor are stored under it. */
  id: string;
  url: URL;
  /** One secret, or several while a secret is rotated (each request is signed with every one). */
  secrets: SigningSecrets;
  /** Event kinds wanted; undefined: all. */
  events?: ReadonlySet<EventName>;
  /** Statuses wanted; undefined: all. */
  statuses?: ReadonlySet<OutboxStatus>;
  /** Only events of rows carrying every one of these tags (name -> value); undefined: all. */
  tags?: Readonly<Record<string, string>>;
  timeoutMs: number;
  enabled: boolean;
  /** Allow http:// to a non-loopback host (SSRF checks still apply). */
  allowHttp: boolean;
  /** A delivery still failing this long after its event is given up on. */
  maxAgeMs: number;
  /** An endpoint failing without a success for this long is paused until redelivered. */
  pauseAfterMs: number;
  /** The first retry's delay; each next one doubles it (up to an hour), with jitter. */
  retryInitialMs: number;
}

const KEYS = ["id", "url", "secret_env", "events", "statuses", "tags", "timeout_ms", "enabled", "allow_http", "max_age_ms", "pause_after_ms", "retry_initial_ms"];

const MAX_TIMER_MS = 2_147_483_647;
export const WEBHOOK_DEFAULTS = Object.freeze({ timeoutMs: 10_000, maxAgeMs: 24 * 3_600_000, pauseAfterMs: 3_600_000, retryInitialMs: 5_000 });
/** Endpoints per account: each costs a poll, so a typo'd loop of thousands is refused. */
const MAX_ENDPOINTS = 20;

/** Reads `webhooks` of one account (`where` is "account N"); secrets come from the environment. */
export function parseWebhooks(raw: unknown, env: NodeJS.ProcessEnv, where: string): readonly WebhookConfig[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) throw new ConfigError(`${where}: webhooks must be an array`);
  if (raw.length > MAX_ENDPOINTS) throw new ConfigError(`${where}: at most ${MAX_ENDPOINTS} webhooks`);
  const hooks = raw.map((item, i) => parseWebhook(item, env, `${where}: webhooks[${i}]`));
  const ids = new Set(hooks.map((h) => h.id));
  if (ids.size !== hooks.length) throw new ConfigError(`${where}: webhooks: ids must be unique`);
  return Object.freeze(hooks);
}

function parseWebhook(raw: unknown, env: NodeJS.ProcessEnv, where: string): WebhookConfig {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new ConfigError(`${where} must be an object`);
  const obj = raw as Record<string, unknown>;
  const unknown = unknownKey(obj, `${where}.`, KEYS);
  if (unknown) throw new ConfigError(unknown);
  if (typeof obj.id !== "string" || !/^[A-Za-z0-9._-]{1,64}$/.test(obj.id)) {
    throw new ConfigError(`${where}: id must be 1-64 letters, digits, '.', '_' or '-'`);
  }
  where = `${where} (${obj.id})`;
  const allowHttp = bool(obj.allow_http, `${where}: allow_http`) ?? false;
  return Object.freeze({
    id: obj.id,
    url: parseUrl(obj.url, allowHttp, where),
    secrets: parseSecrets(obj.secret_env, env, where),
    events: names(obj.events, EVENT_NAMES, `${where}: events`),
    statuses: names(obj.statuses, OUTBOX_STATUSES, `${where}: statuses`),
    tags: tagFilter(obj.tags, `${where}: tags`),
    timeoutMs: ms(obj.timeout_ms, WEBHOOK_DEFAULTS.timeoutMs, `${where}: timeout_ms`, MAX_TIMER_MS),
    enabled: bool(obj.enabled, `${where}: enabled`) ?? true,
    allowHttp,
    maxAgeMs: ms(obj.max_age_ms, WEBHOOK_DEFAULTS.maxAgeMs, `${where}: max_age_ms`, Number.MAX_SAFE_INTEGER),
    pauseAfterMs: ms(obj.pause_after_ms, WEBHOOK_DEFAULTS.pauseAfterMs, `${where}: pause_after_ms`, Number.MAX_SAFE_INTEGER),
    retryInitialMs: ms(obj.retry_initial_ms, WEBHOOK_DEFAULTS.retryInitialMs, `${where}: retry_initial_ms`, MAX_TIMER_MS),
  });
}

/** https:// always; http:// only to a loopback host unless allow_http. No credentials, no fragment. */
function parseUrl(raw: unknown, allowHttp: boolean, where: string): URL {
  let url: URL;
  try {
    if (typeof raw !== "string") throw new Error();
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${where}: url must be an absolute http(s) URL`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new ConfigError(`${where}: url must be http:// or https://`);
  if (url.username || url.password) throw new ConfigError(`${where}: url must not contain credentials`);
  if (url.hash) throw new ConfigError(`${where}: url must not have a #fragment`);
  if (url.protocol === "http:" && !allowHttp && !isLoopbackName(url.hostname)) {
    throw new ConfigError(`${where}: url must be https:// (http:// is for loopback hosts, or set allow_http: true)`);
  }
  return url;
}

/** A URL host that names this machine: localhost, 127.0.0.0/8 or [::1]. */
export function isLoopbackName(hostname: string): boolean {
  const host = hostname.replace(/^\[(.*)\]$/, "$1").toLowerCase();
  return host === "localhost" || host.endsWith(".localhost") || /^127(\.\d{1,3}){3}$/.test(host) || host === "::1";
}

/** secret_env: one variable name or a list; each value holds one or more space-separated `whsec_` secrets. */
function parseSecrets(raw: unknown, env: NodeJS.ProcessEnv, where: string): SigningSecrets {
  const vars = typeof raw === "string" ? [raw] : raw;
  if (!Array.isArray(vars) || vars.length === 0 || !vars.every((v) => typeof v === "string" && v !== "")) {
    throw new ConfigError(`${where}: secret_env must name an environment variable (or a list of them)`);
  }
  const keys: Buffer[] = [];
  for (const name of vars as string[]) {
    const value = env[name];
    if (!value) throw new ConfigError(`${where}: environment variable ${name} (secret_env) is not set`);
    for (const secret of value.trim().split(/\s+/)) {
      // The message names the variable, never the value.
      const m = /^whsec_([A-Za-z0-9+/]+={0,2})$/.exec(secret);
      const bytes = m ? Buffer.from(m[1]!, "base64") : undefined;
      if (!bytes || bytes.length < 16 || bytes.length > 128) {
        throw new ConfigError(`${where}: environment variable ${name} must hold whsec_ secrets: whsec_ and 16 to 128 bytes in base64`);
      }
      keys.push(bytes);
    }
  }
  return new SigningSecrets(keys);
}

/** `tags`: { name: value, … } in the tag syntax Send takes. */
function tagFilter(raw: unknown, where: string): Readonly<Record<string, string>> | undefined {
  if (raw === undefined) return undefined;
  const ok = typeof raw === "object" && raw !== null && !Array.isArray(raw) && Object.keys(raw).length > 0 && Object.keys(raw).length <= MAX_TAGS &&
    Object.entries(raw).every(([k, v]) => TAG_TEXT.test(k) && typeof v === "string" && TAG_TEXT.test(v));
  if (!ok) throw new ConfigError(`${where} must be an object of 1 to ${MAX_TAGS} name: value tags (letters, digits, '_' or '-')`);
  return Object.freeze({ ...(raw as Record<string, string>) });
}

function names<T extends string>(raw: unknown, allowed: readonly T[], where: string): ReadonlySet<T> | undefined {
  if (raw === undefined) return undefined;
  if (!Array.isArray(raw) || raw.length === 0 || !raw.every((v) => allowed.includes(v as T))) {
    throw new ConfigError(`${where} must be a non-empty list of ${allowed.join(", ")}`);
  }
  return new Set(raw as T[]);
}

function ms(raw: unknown, fallback: number, where: string, max: number): number {
  if (raw === undefined) return fallback;
  if (typeof raw !== "number" || !Number.isInteger(raw) || raw < 1 || raw > max) {
    throw new ConfigError(`${where} must be a positive integer${max === MAX_TIMER_MS ? ` of at most ${MAX_TIMER_MS}` : ""}`);
  }
  return raw;
}

function bool(raw: unknown, where: string): boolean | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw !== "boolean") throw new ConfigError(`${where} must be true or false`);
  return raw;
}
