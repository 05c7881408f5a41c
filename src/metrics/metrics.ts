// The service's Prometheus metrics, on a registry of its own per app (several apps in one process,
// as in tests, do not collide). Labels are low-cardinality: configured accounts, error classes,
// statuses, RPC methods and codes, and the values of the tag names metrics.tag_labels lists;
// never a recipient or a message.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { Clock } from "../db/clock.js";
import type { OutboxStats } from "../outbox/stats.js";
import { OUTBOX_STATUSES } from "../outbox/types.js";
import type { BounceReason, ReasonClass } from "../message/bounce-reasons.js";

/** What happened to one message of the mailbox. */
export type ImapOutcome = "ingested" | "duplicate" | "too_large" | "invalid";

/** What IMAP ingest reports. */
export interface ImapMetrics {
  imapMessage(accountId: number, outcome: ImapOutcome): void;
  imapConnected(accountId: number, mailbox: string, connected: boolean): void;
}

/** What applied bounce and complaint reports report. */
export interface BounceMetrics {
  recipientReported(accountId: number, reason: BounceReason, reasonClass: ReasonClass): void;
}

/** What the sender reports. */
export interface SenderMetrics {
  /** A claim query returned this many rows. */
  claimed(rows: number): void;
  /** An SMTP (or file) attempt ended after `seconds`. */
  attempted(accountId: number, outcome: "sent" | "failed", seconds: number): void;
  /** An outcome was written: the row is now sent, failed (to be retried) or dead. */
  finalized(
    accountId: number,
    status: "sent" | "failed" | "dead",
    errorClass: string | null,
    tags?: Readonly<Record<string, string>>,
  ): void;
  /** A relay failed and the row moved to the account's next relay. */
  failedOver(accountId: number, relay: string): void;
  /** A "slow down" reply paused the account. */
  slowedDown(accountId: number): void;
  /** Claims were handed back to wait for the account's turn. */
  deferred(accountId: number, rows: number): void;
  /** An OAuth2 access token request ended; expiresAt (epoch ms) when it gave a token. */
  tokenRequested(accountId: number, expiresAt: number | undefined): void;
}

/** What the outbox_request intake reports. */
export interface RequestMetrics {
  /** Requests answered: `accepted` became rows (or found theirs by idempotency key), each refusal by its reason. */
  requestsAnswered(accepted: number, refusedReasons: readonly string[]): void;
}

/** Read when Prometheus scrapes. */
export interface ScrapeSources {
  /** Cached briefly; undefined when the database did not answer. */
  outboxStats: () => Promise<OutboxStats | undefined>;
  clock: Clock;
  watchStreams: () => number;
  databaseUp: () => boolean;
  /** This instance holds the fleet's maintenance lock. */
  maintenance: () => boolean;
}

/** Webhook endpoints as "account/endpoint" keys. */
export interface WebhookScrapeSources {
  clock: Clock;
  endpoints: () => string[];
  paused: () => string[];
  /** The oldest open delivery's event time per endpoint. */
  oldestOpen: () => Promise<Map<string, number>>;
}

const ATTEMPT_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
const CLAIM_BUCKETS = [0, 1, 2, 4, 8, 16, 32, 64, 128, 256];
const RPC_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

export class Metrics implements SenderMetrics, ImapMetrics, BounceMetrics, RequestMetrics {
  readonly registry = new Registry();
  private readonly registers = [this.registry];

  private readonly sent = new Counter({
    name: "email_outbox_sent_total",
    help: "Messages accepted by the SMTP server (outcome written).",
    labelNames: ["account_id"],
    registers: this.registers,
  });
  private readonly failed = new Counter({
    name: "email_outbox_failed_total",
    help: "Attempts that failed and will be retried.",
    labelNames: ["account_id", "error_class"],
    registers: this.registers,
  });
  private readonly dead = new Counter({
    name: "email_outbox_dead_total",
    help: "Messages given up on (permanent error or out of attempts).",
    labelNames: ["account_id", "error_class"],
    registers: this.registers,
  });
  private readonly attemptSeconds = new Histogram({
    name: "email_outbox_attempt_duration_seconds",
    help: "Time one delivery attempt took, from its start to the server's answer.",
    labelNames: ["account_id", "outcome"],
    buckets: ATTEMPT_BUCKETS,
    registers: this.registers,
  });
  private readonly claimBatch = new Histogram({
    name: "email_outbox_claim_batch_size",
    help: "Rows returned by one claim query.",
    buckets: CLAIM_BUCKETS,
    registers: this.registers,
  });
  private readonly slowDowns = new Counter({
    name: "email_outbox_slow_down_pauses_total",
    help: "Times an account was paused after a 421 or 4.7.x reply.",
    labelNames: ["account_id"],
    registers: this.registers,
  });
  private readonly failovers = new Counter({
    name: "email_outbox_relay_failovers_total",
    help: "Attempts that failed for a reason of the relay's own and moved their row to the account's next relay.",
    labelNames: ["account_id", "relay"],
    registers: this.registers,
  });
  private readonly deferrals = new Counter({
    name: "email_outbox_deferred_total",
    help: "Claims handed back to wait for their account's rate limit or pause.",
    labelNames: ["account_id"],
    registers: this.registers,
  });
  private readonly tokenRequests = new Counter({
    name: "email_outbox_oauth_token_requests_total",
    help: "OAuth2 access token requests to the token endpoint, by outcome (ok, failed).",
    labelNames: ["account_id", "outcome"],
    registers: this.registers,
  });
  private readonly tokenExpiry = new Gauge({
    name: "email_outbox_oauth_token_expiry_timestamp_seconds",
    help: "When the account's current OAuth2 access token expires (Unix time).",
    labelNames: ["account_id"],
    registers: this.registers,
  });
  private readonly byTag = new Counter({
    name: "email_outbox_finalized_by_tag_total",
    help: "Outcomes written (sent, failed, dead) of rows carrying a tag that metrics.tag_labels names, by tag name and value.",
    labelNames: ["tag", "value", "status"],
    registers: this.registers,
  });
  readonly rescued = new Counter({
    name: "email_outbox_lease_rescues_total",
    help: "Rows whose lease expired: requeued, or dead at sender.max_rescues.",
    labelNames: ["outcome"],
    registers: this.registers,
  });
  readonly retentionDeleted = new Counter({
    name: "email_outbox_retention_deleted_total",
    help: "Finished rows deleted by retention.",
    registers: this.registers,
  });
  readonly configReloads = new Counter({
    name: "email_outbox_config_reloads_total",
    help: "Config reloads, applied or rejected.",
    labelNames: ["result"],
    registers: this.registers,
  });
  private readonly webhookDeliveries = new Counter({
    name: "email_outbox_webhook_deliveries_total",
    help: "Webhook attempts by endpoint and result (delivered, retry, failed).",
    labelNames: ["account_id", "endpoint", "result"],
    registers: this.registers,
  });
  private readonly imapMessages = new Counter({
    name: "email_outbox_imap_messages_total",
    help: "Messages of an account's IMAP mailbox handled: ingested, duplicate (already stored), too_large or invalid (skipped).",
    labelNames: ["account_id", "outcome"],
    registers: this.registers,
  });
  private readonly recipientReports = new Counter({
    name: "email_outbox_recipient_reports_total",
    help:
      "Recipients named by applied bounce and complaint reports, by reason and its class for the account (suppress, soft, sender). " +
      'class="sender": our mail was refused (blocked, spam_detected, policy_violation, …).',
    labelNames: ["account_id", "reason", "class"],
    registers: this.registers,
  });
  private readonly imapConnections = new Gauge({
    name: "email_outbox_imap_connected",
    help: "1 while this instance has the account's mailbox open (it holds the account's IMAP lock).",
    labelNames: ["account_id", "mailbox"],
    registers: this.registers,
  });
  private readonly requestsAccepted = new Counter({
    name: "email_outbox_requests_accepted_total",
    help: "outbox_request rows turned into outbox rows (or answered with the row their idempotency key holds).",
    registers: this.registers,
  });
  private readonly requestsRefused = new Counter({
    name: "email_outbox_requests_refused_total",
    help: "outbox_request rows refused, by the ErrorInfo reason Send would have answered.",
    labelNames: ["reason"],
    registers: this.registers,
  });
  readonly rpcHandled = new Counter({
    name: "grpc_server_handled_total",
    help: "RPCs completed, by method and status code.",
    labelNames: ["grpc_service", "grpc_method", "grpc_type", "grpc_code"],
    registers: this.registers,
  });
  readonly rpcSeconds = new Histogram({
    name: "grpc_server_handling_seconds",
    help: "Time to complete an RPC (a stream: its whole life).",
    labelNames: ["grpc_service", "grpc_method", "grpc_type"],
    buckets: RPC_BUCKETS,
    registers: this.registers,
  });

  /** The tag names counted (the config's metrics.tag_labels, read at each outcome: reload applies). */
  private readonly tagLabels: () => readonly string[];

  constructor(opts: { processMetrics?: boolean; tagLabels?: () => readonly string[] } = {}) {
    this.tagLabels = opts.tagLabels ?? (() => []);
    // Process metrics (CPU, memory, event loop lag) install process-wide observers: once per process.
    if (opts.processMetrics) collectDefaultMetrics({ register: this.registry });
  }

  /** Gauges computed at scrape time. */
  observe(src: ScrapeSources): void {
    const registers = this.registers;
    new Gauge({
      name: "email_outbox_depth",
      help: "Outbox rows by status.",
      labelNames: ["status"],
      registers,
      async collect() {
        const stats = await src.outboxStats();
        this.reset();
        if (stats) for (const status of OUTBOX_STATUSES) this.set({ status }, stats.byStatus[status]);
      },
    });
    new Gauge({
      name: "email_outbox_oldest_due_age_seconds",
      help: "How long the oldest due row has been waiting to be claimed (0: none).",
      registers,
      async collect() {
        const stats = await src.outboxStats();
        this.reset();
        if (!stats) return;
        const due = stats.earliestDueAt;
        this.set(due === null ? 0 : Math.max(0, src.clock.now() - due) / 1000);
      },
    });
    new Gauge({
      name: "email_outbox_watch_streams",
      help: "Open WatchOutbox streams on this instance.",
      registers,
      collect() {
        this.set(src.watchStreams());
      },
    });
    new Gauge({
      name: "email_outbox_database_up",
      help: "1 while the database answers the health probe.",
      registers,
      collect() {
        this.set(src.databaseUp() ? 1 : 0);
      },
    });
    new Gauge({
      name: "email_outbox_maintenance_lock_held",
      help: "1 on the one instance that runs rescue, event pruning and retention.",
      registers,
      collect() {
        this.set(src.maintenance() ? 1 : 0);
      },
    });
  }

  /** Gauges of webhook endpoints, computed at scrape time. */
  observeWebhooks(src: WebhookScrapeSources): void {
    const registers = this.registers;
    const split = (key: string) => ({ account_id: key.slice(0, key.indexOf("/")), endpoint: key.slice(key.indexOf("/") + 1) });
    new Gauge({
      name: "email_outbox_webhook_oldest_undelivered_age_seconds",
      help: "Age of the oldest event not yet delivered (nor given up on) per webhook endpoint (0: none).",
      labelNames: ["account_id", "endpoint"],
      registers,
      async collect() {
        const oldest = await src.oldestOpen().catch(() => undefined);
        this.reset();
        if (!oldest) return;
        for (const key of src.endpoints()) this.set(split(key), Math.max(0, src.clock.now() - (oldest.get(key) ?? src.clock.now())) / 1000);
      },
    });
    new Gauge({
      name: "email_outbox_webhook_endpoint_paused",
      help: "1 while a webhook endpoint is paused after failing for pause_after_ms.",
      labelNames: ["account_id", "endpoint"],
      registers,
      collect() {
        this.reset();
        const paused = new Set(src.paused());
        for (const key of src.endpoints()) this.set(split(key), paused.has(key) ? 1 : 0);
      },
    });
  }

  /** Each configured relay's circuit breaker, computed at scrape time. */
  observeRelays(src: {
    relays: () => { accountId: number; relay: string }[];
    notClosed: () => Promise<{ accountId: number; relay: string }[]>;
  }): void {
    new Gauge({
      name: "email_outbox_relay_breaker_open",
      help: "1 while a relay's circuit breaker is open (or waiting for its trial attempt): the fleet skips the relay.",
      labelNames: ["account_id", "relay"],
      registers: this.registers,
      async collect() {
        const open = await src.notClosed().catch(() => undefined);
        this.reset();
        if (!open) return;
        const key = (accountId: number, relay: string) => `${accountId}/${relay}`;
        const openKeys = new Set(open.map((b) => key(b.accountId, b.relay)));
        for (const r of src.relays())
          this.set({ account_id: String(r.accountId), relay: r.relay }, openKeys.has(key(r.accountId, r.relay)) ? 1 : 0);
      },
    });
  }

  /** The outbox_request lag, computed at scrape time. */
  observeRequests(src: { oldestPendingMs: () => Promise<number> }): void {
    new Gauge({
      name: "email_outbox_request_lag_seconds",
      help: "How long the oldest pending outbox_request row has waited to be taken (0: none).",
      registers: this.registers,
      async collect() {
        const ms = await src.oldestPendingMs().catch(() => undefined);
        this.reset();
        if (ms !== undefined) this.set(ms / 1000);
      },
    });
  }

  requestsAnswered(accepted: number, refusedReasons: readonly string[]): void {
    if (accepted > 0) this.requestsAccepted.inc(accepted);
    for (const reason of refusedReasons) this.requestsRefused.inc({ reason });
  }

  delivered(key: { accountId: number; endpointId: string }, result: "delivered" | "retry" | "failed"): void {
    this.webhookDeliveries.inc({ account_id: String(key.accountId), endpoint: key.endpointId, result });
  }

  claimed(rows: number): void {
    this.claimBatch.observe(rows);
  }

  attempted(accountId: number, outcome: "sent" | "failed", seconds: number): void {
    this.attemptSeconds.observe({ account_id: String(accountId), outcome }, seconds);
  }

  finalized(
    accountId: number,
    status: "sent" | "failed" | "dead",
    errorClass: string | null,
    tags?: Readonly<Record<string, string>>,
  ): void {
    const account_id = String(accountId);
    if (status === "sent") this.sent.inc({ account_id });
    else (status === "dead" ? this.dead : this.failed).inc({ account_id, error_class: errorClass ?? "UNKNOWN" });
    if (!tags) return;
    for (const tag of this.tagLabels()) {
      if (Object.hasOwn(tags, tag)) this.byTag.inc({ tag, value: tags[tag]!, status });
    }
  }

  slowedDown(accountId: number): void {
    this.slowDowns.inc({ account_id: String(accountId) });
  }

  failedOver(accountId: number, relay: string): void {
    this.failovers.inc({ account_id: String(accountId), relay });
  }

  imapMessage(accountId: number, outcome: ImapOutcome): void {
    this.imapMessages.inc({ account_id: String(accountId), outcome });
  }

  recipientReported(accountId: number, reason: BounceReason, reasonClass: ReasonClass): void {
    this.recipientReports.inc({ account_id: String(accountId), reason, class: reasonClass });
  }

  imapConnected(accountId: number, mailbox: string, connected: boolean): void {
    this.imapConnections.set({ account_id: String(accountId), mailbox }, connected ? 1 : 0);
  }

  deferred(accountId: number, rows: number): void {
    this.deferrals.inc({ account_id: String(accountId) }, rows);
  }

  tokenRequested(accountId: number, expiresAt: number | undefined): void {
    const account_id = String(accountId);
    this.tokenRequests.inc({ account_id, outcome: expiresAt === undefined ? "failed" : "ok" });
    if (expiresAt !== undefined) this.tokenExpiry.set({ account_id }, Math.round(expiresAt / 1000));
  }
}
