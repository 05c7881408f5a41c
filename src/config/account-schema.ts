// accounts[]: what an account may hold, each setting once with its type, bounds, default and
// description. The rules across settings and the secrets from the environment are applied to the
// parsed account in account.ts.
import * as v from "valibot";
import { isLoopbackHost } from "../api/auth/loopback.js";
import { webhookSchema } from "./webhooks.js";
import { DOMAIN, HOST_NAME, count, envName, flag, integer, matching, object, positive, settings, text, timer, unique } from "./fields.js";

export const TLS_MODES = ["implicit", "starttls", "none"] as const;
export type TlsMode = (typeof TLS_MODES)[number];

/** A protocol's ports: with implicit TLS, and with STARTTLS (or none); and its TLS mode when neither tls nor port is set. */
export interface Ports {
  implicit: number;
  starttls: number;
  tls: TlsMode;
}
export const SMTP_PORTS: Ports = { implicit: 465, starttls: 587, tls: "starttls" };
export const IMAP_PORTS: Ports = { implicit: 993, starttls: 143, tls: "implicit" };

/** The connection settings smtp and imap share; their messages name the section ("smtp host …"). */
function connection(section: "smtp" | "imap", ports: Ports) {
  const { implicit, starttls } = ports;
  const HOST = `${section} host is required`;
  const port =
    ports.tls === "implicit" ? `${implicit}, or ${starttls} with tls starttls or none` : `${starttls}, or ${implicit} with tls implicit`;
  return {
    host: v.pipe(v.string(HOST), v.description("The server's host name or address."), v.trim(), v.nonEmpty(HOST)),
    port: v.optional(integer(1, 65535, `${section} port must be 1..65535`, `Default ${port}.`)),
    tls: v.optional(
      v.pipe(
        v.picklist(TLS_MODES, `${section} tls must be implicit, starttls or none`),
        v.description(
          `implicit (TLS from the first byte), starttls (required) or none (a local relay or a test server). ` +
            `Default: implicit on port ${implicit}, else starttls.`,
        ),
      ),
    ),
    user: v.optional(text("The user to authenticate as (required with auth).", `${section} user must be a string`), ""),
    tls_reject_unauthorized: flag(true, "Verify the server's certificate.", `${section} tls_reject_unauthorized must be true or false`),
  };
}

const NON_EMPTY = "{path} must be a non-empty string";
const inline = (description: string) => v.optional(v.pipe(v.string(NON_EMPTY), v.description(description), v.nonEmpty(NON_EMPTY)));
/** A password or a static OAuth2 access token, inline or (better) by environment variable. */
const AUTH = {
  password: inline("The password (prefer password_env, which keeps it out of the file)."),
  password_env: v.optional(envName("The environment variable that holds the password.")),
  oauth_token: inline("A static XOAUTH2 access token (prefer oauth_token_env)."),
  oauth_token_env: v.optional(envName("The environment variable that holds a static XOAUTH2 access token.")),
};

// RFC 6749 §3.3: scope tokens of printable ASCII except '"' and '\', separated by single spaces.
const SCOPE = /^[\x21\x23-\x5b\x5d-\x7e]+( [\x21\x23-\x5b\x5d-\x7e]+)*$/;
const TOKEN_URL = "{path} must be an https:// URL";
const CLIENT_ID = "{path} is required (without control characters)";
/** The refresh token and client secret travel in the request body: never in clear over a network. */
const secureUrl = (href: string) => {
  const url = new URL(href);
  return (url.protocol === "https:" || (url.protocol === "http:" && isLoopbackHost(url.hostname))) && !url.username && !url.password;
};
const oauth2 = object(
  "XOAUTH2 with a refresh token (RFC 6749 §6): access tokens are fetched and renewed as needed. " +
    "The client secret and the refresh token come only from the environment.",
  {
    token_url: v.pipe(
      v.string(TOKEN_URL),
      v.description("The token endpoint: https:// (http:// only to a loopback host)."),
      v.url(TOKEN_URL),
      v.check(secureUrl, `${TOKEN_URL} without credentials (http:// only to a loopback host)`),
      v.transform((url) => new URL(url).href),
    ),
    client_id: v.pipe(
      v.string(CLIENT_ID),
      v.description("The OAuth2 client id."),
      v.nonEmpty(CLIENT_ID),
      v.check((id) => !/\p{Cc}/u.test(id), CLIENT_ID),
    ),
    client_secret_env: envName("The environment variable that holds the client secret."),
    refresh_token_env: envName("The environment variable that holds the refresh token."),
    scope: v.optional(
      matching(SCOPE, "{path} must be space-separated scope tokens", "Space-separated scopes to ask for (none for Gmail)."),
    ),
  },
  {
    client_secret: "{field} must be given by environment variable (client_secret_env)",
    refresh_token: "{field} must be given by environment variable (refresh_token_env)",
  },
);

const smtp = settings('Delivery over SMTP. On the account, its one relay, named "default": exactly one of smtp, relays and file_dir.', {
  ...connection("smtp", SMTP_PORTS),
  auth: v.optional(
    object(
      "Exactly one of password, oauth_token or oauth2, each inline or by environment variable (*_env). " +
        "Without auth no AUTH is attempted.",
      { ...AUTH, oauth2: v.optional(oauth2) },
    ),
  ),
  max_connections: count(5, "Connections to the server at once, per instance: attempts of the account under way at once."),
  connection_timeout_ms: timer(15_000, "How long to wait for a connection (and for an OAuth2 token endpoint)."),
  greeting_timeout_ms: timer(15_000, "How long to wait for the server's greeting."),
  socket_timeout_ms: timer(60_000, "How long a connection may stay silent."),
});

/** A relay's name: recorded on the rows and events of its attempts, a metrics label. */
export const RELAY_NAME = /^[a-z0-9_-]{1,32}$/;
const RELAY_NAME_TEXT = "{path} must be 1-32 characters of a-z, 0-9, '_' and '-'";
const RELAYS = "{path} must be a non-empty list of relays";
export const RELAY_POLICIES = ["failover", "round_robin"] as const;
export type RelayPolicy = (typeof RELAY_POLICIES)[number];
const relay = object("One SMTP server the account's mail may go out through, with its own connections, limits and credentials.", {
  name: matching(RELAY_NAME, RELAY_NAME_TEXT, "The relay's name, recorded on each row and event of its attempts."),
  smtp,
});
const relayBreaker = settings("A relay that keeps failing is skipped by the whole fleet for a while, then tried with one attempt.", {
  failures: count(5, "Relay failures in a row (connection, TLS, greeting, AUTH, MAIL FROM, 421) that open the breaker."),
  cool_down_ms: timer(60_000, "How long an open breaker skips the relay before one attempt tries it again."),
});

const MAILBOXES = "imap mailboxes must be a non-empty list of mailbox names (at most 255 characters, no control characters)";
const mailbox = v.pipe(
  v.string(MAILBOXES),
  v.check((name) => name.trim() !== "" && !/[\0-\x1f\x7f]/.test(name), MAILBOXES),
  v.maxLength(255, MAILBOXES),
);
const imap = settings(
  "The account's mailbox, whose mail is stored as IngestMessage stores it; one instance at a time ingests it.",
  {
    ...connection("imap", IMAP_PORTS),
    auth: object("Exactly one of password or oauth_token (a static access token), each inline or by environment variable (*_env).", AUTH),
    mailboxes: v.optional(
      v.pipe(
        v.array(mailbox, MAILBOXES),
        v.description("The mailboxes watched, each on a connection of its own."),
        v.minLength(1, MAILBOXES),
        v.check((names) => unique(names), "imap mailboxes must not repeat a name"),
      ),
      ["INBOX"],
    ),
  },
  { auth: "{path} is required (password or oauth_token)" },
);

const RATE = "{path} must be a number above 0";
export const DEFAULT_SLOW_DOWN_PAUSE_MS = 30_000;
const rateLimit = v.pipe(
  object("Pace limits for the account.", {
    max_per_second: v.optional(
      v.pipe(
        v.number(RATE),
        v.gtValue(0, RATE),
        v.maxValue(1e6, RATE),
        v.description("Attempts started per second, across the fleet (0.5 is one every 2 s). No limit without it."),
      ),
    ),
    burst: v.optional(positive("Attempts that may start at once after a quiet spell. Default: one second's worth, at least 1.")),
    slow_down_pause_ms: timer(DEFAULT_SLOW_DOWN_PAUSE_MS, "After a 421 or 4.7.x (slow down) reply the account starts nothing this long."),
  }),
  v.transform((r) =>
    Object.freeze({
      maxPerSecond: r.max_per_second,
      burst: r.burst ?? Math.max(1, Math.ceil(r.max_per_second ?? 1)),
      slowDownPauseMs: r.slow_down_pause_ms,
    }),
  ),
);

const DKIM_DOMAIN = "{path} must be a domain name such as example.com";
const dkim = object(
  "DKIM-sign every message of the account (rsa-sha256, relaxed/relaxed). " +
    "Exactly one of private_key_file and private_key_env; the key is checked when the config loads.",
  {
    domain: v.pipe(
      matching(DOMAIN, DKIM_DOMAIN, "The signing domain (d=): the From address's domain or a parent of it, for DMARC."),
      v.maxLength(253, DKIM_DOMAIN),
      v.toLowerCase(),
    ),
    selector: v.pipe(
      matching(
        HOST_NAME,
        "{path} must be DNS labels such as mail2026",
        "The selector (s=): the public key is published as <selector>._domainkey.<domain> TXT.",
      ),
      v.toLowerCase(),
    ),
    private_key_file: v.optional(
      text("An unencrypted PEM file with the RSA private key (at least 1024 bits), relative to the config file."),
    ),
    private_key_env: v.optional(envName("The environment variable that holds the key's PEM text.")),
  },
);

const verp = object("VERP: each message's envelope sender names its row, so a bounce matches it unforgeably.", {
  domain: v.pipe(
    matching(HOST_NAME, "{path} must be a host name", "The domain bounces come back to: bounce+{outbox_id}-{hmac}@domain."),
    v.toLowerCase(),
  ),
  secret_env: envName("The environment variable that holds the HMAC secret (at least 16 characters)."),
});

const suppression = object("What bounces do to an address: by the reason's class, and after repeated soft bounces.", {
  soft_bounce_limit: v.optional(positive("Suppress an address after this many reports of a soft-class reason about it in the window.")),
  soft_bounce_window_ms: count(7 * 24 * 3_600_000, "The window soft_bounce_limit counts in."),
  // Checked by parseReasonClasses (reason and class names with did-you-mean hints), in account.ts.
  reason_classes: v.optional(
    v.pipe(
      v.unknown(),
      v.description(
        'Moves bounce reasons between classes: { "mailbox_full": "suppress", "blocked": "soft" }. Classes: suppress (at once), ' +
          "soft (counts toward soft_bounce_limit), sender (never suppresses). Unset reasons keep their default (docs/inbound.md).",
      ),
    ),
  ),
});

const FROM = "{path} is required (one address, no line breaks)";
const ALLOWED_FROM = '{path} must be a list of addresses or "*@domain" patterns';
/** Endpoints per account: each costs a poll, so a typo'd loop of thousands is refused. */
const MAX_WEBHOOKS = 20;

export const accountSchema = settings("A sending account.", {
  id: integer(1, 0xffffffff, "{path} must be a positive integer", "The account's id, which requests name."),
  from: v.pipe(
    v.string(FROM),
    v.description('The From header, e.g. "Ops <ops@example.com>".'),
    v.nonEmpty(FROM),
    v.check((from) => !/[\r\n\0]/.test(from), FROM),
  ),
  allowed_from: v.optional(
    v.pipe(
      v.array(v.string(ALLOWED_FROM), ALLOWED_FROM),
      v.description(
        "Other From addresses a message may set: exact addresses, or *@domain for every address at exactly that domain. " +
          "With it, from must be one address (the envelope sender).",
      ),
    ),
  ),
  file_dir: v.optional(text("Instead of smtp or relays (for development): write each message as an .eml file to this folder.")),
  smtp: v.optional(smtp),
  relays: v.optional(
    v.pipe(
      v.array(relay, RELAYS),
      v.description(
        'Instead of smtp: several SMTP servers, each with a name ("smtp" alone is one relay named "default"). ' +
          "An attempt that fails for a reason of the relay's own moves to the next one at once, with the same Message-ID.",
      ),
      v.minLength(1, RELAYS),
      v.maxLength(16, "{path}: at most 16 relays"),
      v.check((relays) => unique(relays.map((r) => r.name)), "{path}: names must be unique"),
    ),
  ),
  relay_policy: v.optional(
    v.pipe(
      v.picklist(RELAY_POLICIES, "{path} must be failover or round_robin"),
      v.description(
        "failover: each message tries the relays in order; round_robin: each message starts at the next relay in turn, " +
          "and fails over from there.",
      ),
    ),
    "failover",
  ),
  relay_breaker: v.optional(relayBreaker, {}),
  imap: v.optional(imap),
  rate_limit: v.optional(rateLimit),
  dkim: v.optional(dkim),
  verp: v.optional(verp),
  suppression: v.optional(suppression),
  webhooks: v.optional(
    v.pipe(
      v.array(webhookSchema, "{path} must be an array"),
      v.description("Where the account's events are pushed to."),
      v.maxLength(MAX_WEBHOOKS, `{path}: at most ${MAX_WEBHOOKS} endpoints`),
      v.check((hooks) => unique(hooks.map((h) => h.id)), "{path}: ids must be unique"),
    ),
    [],
  ),
});

export type AccountFile = v.InferOutput<typeof accountSchema>;
