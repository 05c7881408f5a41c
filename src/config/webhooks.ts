// `accounts[].webhooks[]`: the HTTP endpoints an account's outbox events are pushed to. The schema
// of one endpoint, and what is read after it: the URL rule that depends on allow_http, and the
// signing secrets from the environment.
import * as v from "valibot";
import { ConfigError, ID } from "./errors.js";
import { count, flag, matching, plainObject, settings, timer } from "./fields.js";
import { MAX_TAGS, TAG_TEXT } from "../message/tags.js";
import { OUTBOX_STATUSES } from "../outbox/types.js";
import type { OutboxStatus } from "../outbox/types.js";
import { EVENT_NAMES } from "../events/webhooks/payload.js";
import { SigningSecrets } from "../events/webhooks/signature.js";

const URL_TEXT = "{field} must be an absolute http(s) URL";
const SECRET_ENV = "{field} must name an environment variable (or a list of them)";
const secretVar = v.pipe(v.string(SECRET_ENV), v.nonEmpty(SECRET_ENV));
const TAG_VALUE = "{path} must be a tag value (letters, digits, '_' or '-')";
const TAGS = `{field} must be an object of 1 to ${MAX_TAGS} name: value tags (letters, digits, '_' or '-')`;

/** A filter: a non-empty list of `allowed` read as a set; undefined (no filter) without it. */
function only<T extends string>(allowed: readonly T[], description: string) {
  const message = `{field} must be a non-empty list of ${allowed.join(", ")}`;
  return v.optional(
    v.pipe(
      v.array(v.picklist(allowed, message), message),
      v.description(description),
      v.minLength(1, message),
      v.transform((items): ReadonlySet<T> => new Set(items)),
    ),
  );
}

export const webhookSchema = settings("An HTTP endpoint the account's events are pushed to, as Standard Webhooks.", {
  id: matching(ID, "{field} must be 1-64 letters, digits, '.', '_' or '-'", "Names the endpoint in its account (its deliveries)."),
  url: v.pipe(
    v.string(URL_TEXT),
    v.url(URL_TEXT),
    v.description("https://…; http:// only to localhost, 127.0.0.0/8 or [::1] unless allow_http; no credentials or fragment."),
    v.check((url) => /^https?:$/.test(new URL(url).protocol), "{field} must be http:// or https://"),
    v.check((url) => !new URL(url).username && !new URL(url).password, "{field} must not contain credentials"),
    v.check((url) => !new URL(url).hash, "{field} must not have a #fragment"),
    v.transform((url) => new URL(url)),
  ),
  secret_env: v.pipe(
    v.union([secretVar, v.pipe(v.array(secretVar, SECRET_ENV), v.minLength(1, SECRET_ENV))], SECRET_ENV),
    v.description(
      "An environment variable (or a list of them) holding the signing secret whsec_<base64 of 16-128 bytes>; " +
        "several, space-separated, while rotating: each request is signed with each.",
    ),
  ),
  events: only(EVENT_NAMES, "Event kinds wanted; all without it."),
  statuses: only<OutboxStatus>(OUTBOX_STATUSES, "Only events whose row status is one of these; all without it."),
  tags: v.optional(
    v.pipe(
      plainObject(TAGS),
      v.record(v.string(), v.pipe(v.string(TAG_VALUE), v.regex(TAG_TEXT, TAG_VALUE))),
      v.description('Only events of rows carrying every one of these tags, e.g. {"campaign": "spring"}.'),
      v.minEntries(1, TAGS),
      v.maxEntries(MAX_TAGS, TAGS),
      v.check((tags) => Object.keys(tags).every((name) => TAG_TEXT.test(name)), TAGS),
      v.transform((tags): Readonly<Record<string, string>> => Object.freeze({ ...tags })),
    ),
  ),
  timeout_ms: timer(10_000, "One request, connect to answer."),
  enabled: flag(true, "false records and sends nothing for it; enabled again, it catches up from where it stopped (with the events kept)."),
  allow_http: flag(false, "Allow http:// to a host that is not loopback (the SSRF checks still apply)."),
  max_age_ms: count(24 * 3_600_000, "A delivery still failing this long after its event is given up (FAILED)."),
  pause_after_ms: count(3_600_000, "An endpoint with no 2xx for this long while failing is paused (fleet-wide) until RedeliverWebhooks."),
  retry_initial_ms: timer(5_000, "The first retry's delay; each next one doubles, up to 1 h, with jitter (half to all of it)."),
});

type WebhookFile = v.InferOutput<typeof webhookSchema>;
export type WebhookConfig = Omit<WebhookFile, "secretEnv"> & {
  /** One secret, or several while a secret is rotated (each request is signed with every one). */
  readonly secrets: SigningSecrets;
};

/** The endpoints of one account (`where` is "account N") with their secrets from the environment. */
export function webhookConfigs(hooks: readonly WebhookFile[], env: NodeJS.ProcessEnv, where: string): readonly WebhookConfig[] {
  return Object.freeze(
    hooks.map(({ secretEnv, events, statuses, tags, ...hook }, i) => {
      const at = `${where}: webhooks[${i}] (${hook.id})`;
      if (hook.url.protocol === "http:" && !hook.allowHttp && !isLoopbackName(hook.url.hostname)) {
        throw new ConfigError(`${at}: url must be https:// (http:// is for loopback hosts, or set allow_http: true)`);
      }
      // The filters are there even when unset (undefined: no filter).
      const secrets = signingSecrets(typeof secretEnv === "string" ? [secretEnv] : secretEnv, env, at);
      return Object.freeze({ ...hook, events, statuses, tags, secrets });
    }),
  );
}

/** A URL host that names this machine: localhost, 127.0.0.0/8 or [::1]. */
export function isLoopbackName(hostname: string): boolean {
  const host = hostname.replace(/^\[(.*)\]$/, "$1").toLowerCase();
  return host === "localhost" || host.endsWith(".localhost") || /^127(\.\d{1,3}){3}$/.test(host) || host === "::1";
}

/** Each variable holds one or more space-separated `whsec_` secrets; a message names the variable, never the value. */
function signingSecrets(vars: readonly string[], env: NodeJS.ProcessEnv, at: string): SigningSecrets {
  const keys: Buffer[] = [];
  for (const name of vars) {
    const value = env[name];
    if (!value) throw new ConfigError(`${at}: environment variable ${name} (secret_env) is not set`);
    for (const secret of value.trim().split(/\s+/)) {
      const m = /^whsec_([A-Za-z0-9+/]+={0,2})$/.exec(secret);
      const bytes = m ? Buffer.from(m[1]!, "base64") : undefined;
      if (!bytes || bytes.length < 16 || bytes.length > 128) {
        throw new ConfigError(`${at}: environment variable ${name} must hold whsec_ secrets: whsec_ and 16 to 128 bytes in base64`);
      }
      keys.push(bytes);
    }
  }
  return new SigningSecrets(keys);
}
