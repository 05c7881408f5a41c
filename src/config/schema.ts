// The config file, each section once: its settings' types, bounds, defaults and descriptions.
// config.schema.json and docs/configuration-reference.md are generated from it (npm run
// generate:config-docs); load.ts applies the environment and the rules across settings.
import * as v from "valibot";
import { DEFAULT_ATTACHMENT_POLICY, mediaType } from "../message/attachment-policy.js";
import type { ApiKey } from "../api/auth/keys.js";
import { SCOPES } from "../api/auth/scopes.js";
import { MAX_TAGS, TAG_TEXT } from "../message/tags.js";
import { accountSchema } from "./account-schema.js";
import { ID } from "./errors.js";
import { HOST_NAME, camelKeys, count, flag, integer, matching, object, settings, text, timer, unique } from "./fields.js";

const DAY = 24 * 3_600_000;

const sender = settings("The background sender on each instance.", {
  batch_size: count(32, "Rows claimed per query."),
  max_in_flight: count(64, "Attempts under way at once on this instance."),
  poll_interval_ms: timer(1000, "How often to look for rows due from other instances or from backoff."),
  lease_ms: timer(5 * 60_000, "How long a claim is owned before the rescuer may hand it to another sender."),
  // 5 s × 2^min(n,10): the first nine delays add up to 85 min, then 85 min each, so 25 attempts
  // span about a day.
  max_attempts: count(25, "After this many failed attempts the row goes DEAD."),
  max_rescues: count(5, "After this many lease rescues with no attempt finished in between, the row goes DEAD (RESCUE_LIMIT)."),
  shutdown_timeout_ms: timer(30_000, "Graceful stop: how long in-flight attempts may take to finish."),
});

const watch = settings("WatchOutbox event streams.", {
  poll_interval_ms: timer(200, "Other instances' changes reach watchers within this."),
  heartbeat_ms: timer(15_000, "Idle streams get a heartbeat this often."),
  buffer_size: count(1000, "Events buffered per stream; a stream further behind ends with RESOURCE_EXHAUSTED (resume from last_event_id)."),
  event_retention_ms: count(7 * DAY, "Events older than this are deleted; resuming from one fails with OUT_OF_RANGE."),
  max_streams: count(1000, "Open WatchOutbox streams on this instance; past it RESOURCE_EXHAUSTED."),
  max_streams_per_key: count(100, "Open WatchOutbox streams of one API key on this instance."),
});

const server = settings("Limits on what clients may make the server hold: bytes, connections, streams, time.", {
  // Ten 25 MiB attachments in flight at once fit; a 2-core box's spare memory is not at risk.
  request_bytes_in_flight: count(256 * 1024 * 1024, "Request bytes all requests in flight may hold together; past it RESOURCE_EXHAUSTED."),
  first_bytes_timeout_ms: timer(10_000, "A new connection must send its first request (cleartext) or finish TLS within this."),
  // Longer than the longest quiet RPC (a Send with wait_for_attempt waits up to 60 s).
  idle_timeout_ms: timer(300_000, "A connection or HTTP/2 session with no traffic for this long is closed."),
  max_concurrent_streams: count(100, "HTTP/2 streams one connection may have open at once."),
});

const retention = settings("Deleting what is done with.", {
  outbox_ms: count(30 * DAY, "Sent, cancelled and dead rows are deleted this long after their last change."),
  mail_message_ms: count(90 * DAY, "Received messages are deleted this long after they were stored (sent ones go with their row)."),
  batch_size: count(500, "Rows deleted per short transaction."),
});

const LISTEN = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/;
const LISTEN_TEXT = "{path} must be host:port, e.g. 127.0.0.1:9464";
const TAG_LABELS = `{path} must be a list of at most ${MAX_TAGS} tag names (letters, digits, '_' or '-')`;
const metrics = settings("Prometheus metrics.", {
  listen: v.optional(
    v.pipe(
      matching(
        LISTEN,
        LISTEN_TEXT,
        "host:port (IPv6 in brackets) of a port of its own for /metrics; without it /metrics is on the API port, behind the metrics scope.",
      ),
      v.check((listen) => Number(LISTEN.exec(listen)![3]) <= 65535, LISTEN_TEXT),
      v.transform((listen) => {
        const [, ipv6, name, port] = LISTEN.exec(listen)!;
        return Object.freeze({ host: ipv6 ?? name!, port: Number(port) });
      }),
    ),
  ),
  tag_labels: v.optional(
    v.pipe(
      v.array(matching(TAG_TEXT, TAG_LABELS, "A tag name."), TAG_LABELS),
      v.description("Tag names counted in email_outbox_finalized_by_tag_total (others are not, to bound label cardinality)."),
      v.maxLength(MAX_TAGS, TAG_LABELS),
      v.transform((labels): readonly string[] => Object.freeze([...new Set(labels)])),
    ),
    [],
  ),
});

const TYPES = "{field} must be a list of type/subtype values";
const attachmentPolicy = settings("What the service accepts as an attachment.", {
  max_size_bytes: count(DEFAULT_ATTACHMENT_POLICY.maxSizeBytes, "Largest single attachment, in bytes; exactly this size is allowed."),
  max_total_bytes: count(DEFAULT_ATTACHMENT_POLICY.maxTotalBytes, "Largest sum of all attachments of one message, in bytes."),
  allowed_content_types: v.optional(
    v.pipe(
      v.array(
        v.pipe(
          v.string(TYPES),
          v.check((type) => mediaType(type) === type.trim().toLowerCase(), TYPES),
        ),
        TYPES,
      ),
      v.description("Bare type/subtype values, compared without case or parameters."),
      v.transform((types): readonly string[] => Object.freeze(types.map((type) => type.trim().toLowerCase()))),
    ),
    [...DEFAULT_ATTACHMENT_POLICY.allowedContentTypes],
  ),
});

const required = (description: string) =>
  v.pipe(v.string("{path} is required"), v.description(description), v.nonEmpty("{path} is required"));

const KEY_ACCOUNTS = '{field} must be "*" or a non-empty list of account ids';
const KEY_SCOPES = `{field} must be a non-empty list of ${SCOPES.join(", ")}`;
const accountId = integer(1, 0xffffffff, KEY_ACCOUNTS, "An account id.");
const apiKey = v.pipe(
  object("An API key: what it may do, for which accounts.", {
    id: matching(ID, "{field} must be 1-64 letters, digits, '.', '_' or '-'", "Names the key in logs and metrics."),
    sha256: matching(
      /^[0-9a-f]{64}$/,
      "{field} must be 64 lower-case hex digits",
      "SHA-256 of the key (npm run key:create prints it); the key itself is never here.",
    ),
    accounts: v.pipe(
      v.union([v.literal("*"), v.pipe(v.array(accountId, KEY_ACCOUNTS), v.minLength(1, KEY_ACCOUNTS))], KEY_ACCOUNTS),
      v.description('The accounts the key may act for: a list of ids, or "*" for all.'),
    ),
    scopes: v.pipe(v.array(v.picklist(SCOPES, KEY_SCOPES), KEY_SCOPES), v.description("What the key may do."), v.minLength(1, KEY_SCOPES)),
  }),
  v.transform(
    (key): ApiKey =>
      Object.freeze({
        id: key.id,
        sha256: key.sha256,
        accounts: key.accounts === "*" ? "all" : new Set(key.accounts),
        scopes: new Set(key.scopes),
      }),
  ),
);

const ORIGIN = /^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?$/;
const origin = (issue: v.BaseIssue<unknown>) => `{path}: ${JSON.stringify(issue.input)} is not an origin like https://app.example.com`;

/** With no config file: one account whose mail is written as .eml files, for trying it out. */
const DEV_ACCOUNT = { id: 1, from: "Outbox Dev <dev@localhost.localdomain>", file_dir: "mail-out" };

export const configSchema = v.pipe(
  object("The accounts mail is sent from, and the service's limits, keys and timings.", {
    $schema: v.optional(text("The JSON Schema this file follows, for editors (config.schema.json); not read.")),
    accounts: v.optional(
      v.pipe(
        v.array(accountSchema, "{path} must be an array"),
        v.description("The sending accounts. Without it, one account for trying it out writes .eml files to mail-out/."),
      ),
      [DEV_ACCOUNT],
    ),
    // "<outbox-{id}-{n}@domain>" must fit outbox.message_id (VARCHAR(255)) with 20-digit ids.
    message_id_domain: v.optional(
      v.pipe(
        matching(HOST_NAME, "{path} must be a host name", "The domain of the Message-IDs it writes."),
        v.maxLength(200, "{path} must be at most 200 characters"),
      ),
      "prx-email.local",
    ),
    allow_failure_mode: flag(false, "Let clients make attempts fail on purpose (failure_mode), to exercise their failure paths."),
    sender: v.optional(sender, {}),
    watch: v.optional(watch, {}),
    server: v.optional(server, {}),
    metrics: v.optional(metrics, {}),
    retention: v.optional(retention, {}),
    attachment_policy: v.optional(attachmentPolicy, {}),
    attachment_store: v.optional(
      settings("Where path attachments are read from; without it they are refused.", {
        dir: required("The folder, relative to the config file."),
      }),
    ),
    api_keys: v.optional(
      v.pipe(
        v.array(apiKey, "{path} must be an array"),
        v.description("Without keys authentication is off, which is allowed only on a loopback address or with allow_unauthenticated."),
        v.check((keys) => unique(keys.map((k) => k.id)), "{path}: ids must be unique"),
        v.check((keys) => unique(keys.map((k) => k.sha256)), "{path}: two entries have the same sha256"),
      ),
      [],
    ),
    allow_unauthenticated: flag(false, "Serve without API keys on an address that is not loopback."),
    tls: v.optional(
      settings("Serve HTTPS (HTTP/2 and HTTP/1.1 by ALPN) instead of cleartext.", {
        cert_file: required("The certificate chain (PEM), relative to the config file."),
        key_file: required("The private key (PEM), relative to the config file."),
      }),
    ),
    cors: v.optional(
      settings("Browser origins allowed to call the API.", {
        allowed_origins: v.optional(
          v.pipe(
            v.array(v.pipe(v.string(origin), v.regex(ORIGIN, origin)), "{path} must be an array"),
            v.description("Exact origins such as https://app.example.com (no paths, no *); none by default."),
            v.transform((origins): readonly string[] => Object.freeze(origins.map((o) => o.toLowerCase()))),
          ),
          [],
        ),
      }),
      {},
    ),
  }),
  v.title("email-outbox configuration"),
  v.transform(camelKeys),
);

export type ConfigFile = v.InferOutput<typeof configSchema>;
