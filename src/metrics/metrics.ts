// The service's Prometheus metrics, on a registry of its own per app (several apps in one process,
// as in tests, do not collide). Labels are low-cardinality: configured accounts, error classes,
// statuses, RPC methods and codes; never a recipient or a message.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { Clock } from "../clock.js";
import type { OutboxStats } from "../outbox/stats.js";
import { OUTBOX_STATUSES } from "../outbox/stats.js";
import type { ImapMetrics, ImapOutcome } from "../mailbox/imap-mailbox.js";

/** What the sender reports. */
export interface SenderMetrics {
  /** A claim query returned this many rows. */
  claimed(rows: number): void;
  /** An SMTP (or file) attempt ended after `seconds`. */
  attempted(accountId: number, outcome: "sent" | "failed", seconds: number): void;
  /** An outcome was written: the row is now sent, failed (to be retried) or dead. */
  finalized(accountId: number, status: "sent" | "failed" | "dead", errorClass: string | null): void;
  /** A "slow down" reply paused the account. */
  slowedDown(accountId: number): void;
  /** Claims were handed back to wait for the account's turn. */
  deferred(accountId: number, rows: number): void;
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

const ATTEMPT_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
const CLAIM_BUCKETS = [0, 1, 2, 4, 8, 16, 32, 64, 128, 256];
const RPC_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

export class Metrics implements SenderMetrics, ImapMetrics {
  readonly registry = new Registry();
  private readonly registers = [this.registry];

  private readonly sent = new Counter({
    name: "email_outbox_sent_total", help: "Messages accepted by the SMTP server (outcome written).",
    labelNames: ["account_id"], registers: this.registers,
  });
  private readonly failed = new Counter({
    name: "email_outbox_failed_total", help: "Attempts that failed and will be retried.",
    labelNames: ["account_id", "error_class"], registers: this.registers,
  });
  private readonly dead = new Counter({
    name: "email_outbox_dead_total", help: "Messages given up on (permanent error or out of attempts).",
    labelNames: ["account_id", "error_class"], registers: this.registers,
  });
  private readonly attemptSeconds = new Histogram({
    name: "email_outbox_attempt_duration_seconds", help: "Time one delivery attempt took, from its start to the server's answer.",
    labelNames: ["account_id", "outcome"], buckets: ATTEMPT_BUCKETS, registers: this.registers,
  });
  private readonly claimBatch = new Histogram({
    name: "email_outbox_claim_batch_size", help: "Rows returned by one claim query.",
    buckets: CLAIM_BUCKETS, registers: this.registers,
  });
  private readonly slowDowns = new Counter({
    name: "email_outbox_slow_down_pauses_total", help: "Times an account was paused after a 421 or 4.7.x reply.",
    labelNames: ["account_id"], registers: this.registers,
  });
  private readonly deferrals = new Counter({
    name: "email_outbox_deferred_total", help: "Claims handed back to wait for their account's rate limit or pause.",
    labelNames: ["account_id"], registers: this.registers,
  });
  readonly rescued = new Counter({
    name: "email_outbox_lease_rescues_total", help: "Rows whose lease expired: requeued, or dead at sender.max_rescues.",
    labelNames: ["outcome"], registers: this.registers,
  });
  readonly retentionDeleted = new Counter({
    name: "email_outbox_retention_deleted_total", help: "Finished rows deleted by retention.", registers: this.registers,
  });
  readonly configReloads = new Counter({
    name: "email_outbox_config_reloads_total", help: "Config reloads, applied or rejected.",
    labelNames: ["result"], registers: this.registers,
  });
  private readonly imapMessages = new Counter({
    name: "email_outbox_imap_messages_total",
    help: "Messages of an account's IMAP mailbox handled: ingested, duplicate (already stored), too_large or invalid (skipped).",
    labelNames: ["account_id", "outcome"], registers: this.registers,
  });
  private readonly imapConnections = new Gauge({
    name: "email_outbox_imap_connected", help: "1 while this instance has the account's mailbox open (it holds the account's IMAP lock).",
    labelNames: ["account_id", "mailbox"], registers: this.registers,
  });
  readonly rpcHandled = new Counter({
    name: "grpc_server_handled_total", help: "RPCs completed, by method and status code.",
    labelNames: ["grpc_service", "grpc_method", "grpc_type", "grpc_code"], registers: this.registers,
  });
  readonly rpcSeconds = new Histogram({
    name: "grpc_server_handling_seconds", help: "Time to complete an RPC (a stream: its whole life).",
    labelNames: ["grpc_service", "grpc_method", "grpc_type"], buckets: RPC_BUCKETS, registers: this.registers,
  });

  constructor(opts: { processMetrics?: boolean } = {}) {
    // Process metrics (CPU, memory, event loop lag) install process-wide observers: once per process.
    if (opts.processMetrics) collectDefaultMetrics({ register: this.registry });
  }

  /** Gauges computed at scrape time. */
  observe(src: ScrapeSources): void {
    const registers = this.registers;
    new Gauge({
      name: "email_outbox_depth", help: "Outbox rows by status.", labelNames: ["status"], registers,
      async collect() {
        const stats = await src.outboxStats();
        this.reset();
        if (stats) for (const status of OUTBOX_STATUSES) this.set({ status }, stats.byStatus[status]);
      },
    });
    new Gauge({
      name: "email_outbox_oldest_due_age_seconds", help: "How long the oldest due row has been waiting to be claimed (0: none).",
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
      name: "email_outbox_watch_streams", help: "Open WatchOutbox streams on this instance.", registers,
      collect() {
        this.set(src.watchStreams());
      },
    });
    new Gauge({
      name: "email_outbox_database_up", help: "1 while the database answers the health probe.", registers,
      collect() {
        this.set(src.databaseUp() ? 1 : 0);
      },
    });
    new Gauge({
      name: "email_outbox_maintenance_lock_held", help: "1 on the one instance that runs rescue, event pruning and retention.", registers,
      collect() {
        this.set(src.maintenance() ? 1 : 0);
      },
    });
  }

  claimed(rows: number): void {
    this.claimBatch.observe(rows);
  }

  attempted(accountId: number, outcome: "sent" | "failed", seconds: number): void {
    this.attemptSeconds.observe({ account_id: String(accountId), outcome }, seconds);
  }

  finalized(accountId: number, status: "sent" | "failed" | "dead", errorClass: string | null): void {
    const account_id = String(accountId);
    if (status === "sent") this.sent.inc({ account_id });
    else (status === "dead" ? this.dead : this.failed).inc({ account_id, error_class: errorClass ?? "UNKNOWN" });
  }

  slowedDown(accountId: number): void {
    this.slowDowns.inc({ account_id: String(accountId) });
  }

  imapMessage(accountId: number, outcome: ImapOutcome): void {
    this.imapMessages.inc({ account_id: String(accountId), outcome });
  }

  imapConnected(accountId: number, mailbox: string, connected: boolean): void {
    this.imapConnections.set({ account_id: String(accountId), mailbox }, connected ? 1 : 0);
  }

  deferred(accountId: number, rows: number): void {
    this.deferrals.inc({ account_id: String(accountId) }, rows);
  }
}
