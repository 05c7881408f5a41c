// The webhook background role, on every instance: for each enabled endpoint, record the new
// events it wants (from the event table, by cursor), claim due deliveries (SKIP LOCKED, so
// instances share the work and never send one event twice at once), send them and write the
// outcome fenced by the claim's lease. Bounded: MAX_IN_FLIGHT requests on the instance, at most
// PER_ENDPOINT of them to one endpoint, so a slow or paused endpoint holds up no other, and
// email delivery shares nothing with it but the database.
import type { Clock } from "../../db/clock.js";
import type { Config } from "../../config/config.js";
import { Poller } from "../../lib/poller.js";
import { redactAddressesIn, type Logger } from "../../lib/log.js";
import type { Pool } from "../../db/pool.js";
import { firstEventId } from "../../outbox/events.js";
import type { EventRow } from "../../outbox/types.js";
import {
  claimDeliveries,
  endpointStates,
  ensureEndpoint,
  pruneDeliveries,
  recordDeliveries,
  type ClaimedDelivery,
  type EndpointKey,
  type EndpointState,
} from "../../outbox/webhook-deliveries.js";
import { WebhookCompleter } from "./completer.js";
import type { WebhookConfig } from "../../config/webhooks.js";
import { eventName, webhookBody, webhookId } from "./payload.js";
import { decide } from "./retry-policy.js";
import { sendWebhook } from "./sender.js";
import type { Resolve } from "./ssrf.js";

const MAX_IN_FLIGHT = 32;
const PER_ENDPOINT = 8;
/** Events scanned per endpoint and pass. */
const SCAN = 500;
/**
 * How long a claim is ours: a request ends by its timeout (it is destroyed then), and the outcome
 * write gets as long again plus 5 s. Past it another instance (or this one) sends it again.
 */
const leaseMs = (timeoutMs: number) => 2 * timeoutMs + 5_000;
const PRUNE_EVERY_MS = 60_000;

export interface WebhookEndpoint extends EndpointKey {
  config: WebhookConfig;
}

export interface WebhookMetrics {
  delivered(key: EndpointKey, result: "delivered" | "retry" | "failed"): void;
}

export interface DispatcherOptions {
  pool: Pool;
  clock: Clock;
  log: Logger;
  config: () => Config;
  metrics: WebhookMetrics;
  pollMs: number;
  /** DNS for the SSRF check; the system resolver by default. */
  resolve?: Resolve;
}

export function keyOf(k: EndpointKey): string {
  return `${k.accountId}/${k.endpointId}`;
}

/** Every enabled endpoint of the config. */
export function configuredEndpoints(config: Config): WebhookEndpoint[] {
  return [...config.accounts.values()].flatMap((a) =>
    a.webhooks.filter((w) => w.enabled).map((w) => ({ accountId: a.id, endpointId: w.id, config: w })),
  );
}

export class WebhookDispatcher {
  private readonly passes = new Poller(() => this.checkedPass());
  private readonly inFlight = new Map<string, number>();
  private total = 0;
  private readonly sends = new Set<Promise<void>>();
  private readonly ensured = new Set<string>();
  private lastPrune = 0;
  /** The last failed pass's error: a lasting cause (the database is down) is logged once, not every poll. */
  private passError?: string;
  private readonly completer: WebhookCompleter;
  /** Pause and failure state as of the last pass, for metrics and health. */
  states = new Map<string, EndpointState>();

  constructor(private readonly o: DispatcherOptions) {
    this.completer = new WebhookCompleter(o.pool, () => o.clock.now());
  }

  start(): void {
    this.passes.start(this.o.pollMs);
    this.passes.wake();
  }

  /** Runs a pass now, or right after the one under way. */
  wake(): void {
    this.passes.wake();
  }

  private async checkedPass(): Promise<void> {
    try {
      await this.pass();
      this.passError = undefined;
    } catch (err) {
      const message = (err as Error).message;
      if (message !== this.passError) this.o.log.warn({ err: message }, "webhook pass failed; retrying every poll");
      this.passError = message;
    }
  }

  /** The endpoints paused fleet-wide (by "account/endpoint"), as of the last pass. */
  paused(): string[] {
    const enabled = new Set(configuredEndpoints(this.o.config()).map(keyOf));
    return [...this.states]
      .filter(([k, s]) => s.pausedAt !== null && enabled.has(k))
      .map(([k]) => k)
      .sort();
  }

  /** Stops claiming and waits for the requests under way (each bounded by its timeout_ms). */
  async stop(): Promise<void> {
    await this.passes.stop();
    await Promise.all([...this.sends]);
  }

  private async pass(): Promise<void> {
    const endpoints = configuredEndpoints(this.o.config());
    if (endpoints.length === 0) return;
    const before = this.states;
    this.states = await endpointStates(this.o.pool);
    for (const ep of endpoints) {
      const key = keyOf(ep);
      if (this.states.get(key)?.pausedAt != null && before.get(key)?.pausedAt == null) {
        this.o.log.warn(
          { account_id: ep.accountId, endpoint: ep.endpointId },
          "webhook endpoint paused after failing for pause_after_ms; RedeliverWebhooks resumes it",
        );
      }
    }
    const prune = this.o.clock.now() - this.lastPrune >= PRUNE_EVERY_MS;
    const firstKept = prune ? await firstEventId(this.o.pool) : 0;
    if (prune) this.lastPrune = this.o.clock.now();
    for (const ep of endpoints) {
      if (this.passes.stopped) return;
      const key = keyOf(ep);
      if (!this.ensured.has(key)) {
        await ensureEndpoint(this.o.pool, ep);
        this.ensured.add(key);
      }
      const now = this.o.clock.now();
      while ((await recordDeliveries(this.o.pool, ep, (e) => wants(ep.config, e), SCAN, now)) === SCAN && !this.passes.stopped);
      if (prune && firstKept > 0) await pruneDeliveries(this.o.pool, ep, firstKept, 1000);
      if (this.states.get(key)?.pausedAt != null) continue;
      const room = Math.min(PER_ENDPOINT - (this.inFlight.get(key) ?? 0), MAX_IN_FLIGHT - this.total);
      const claims = await claimDeliveries(this.o.pool, ep, now, room, leaseMs(ep.config.timeoutMs));
      for (const claim of claims) this.launch(ep, claim);
    }
  }

  private launch(ep: WebhookEndpoint, claim: ClaimedDelivery): void {
    const key = keyOf(ep);
    this.inFlight.set(key, (this.inFlight.get(key) ?? 0) + 1);
    this.total++;
    const send = this.deliver(ep.config, claim)
      .catch((err: unknown) =>
        this.o.log.warn(
          { account_id: ep.accountId, endpoint: ep.endpointId, event_id: claim.eventId, err: (err as Error).message },
          "webhook outcome not written; the lease will bring it back",
        ),
      )
      .finally(() => {
        this.inFlight.set(key, (this.inFlight.get(key) ?? 1) - 1);
        this.total--;
        this.sends.delete(send);
        // A finished delivery may have released the row's next event, and freed a slot.
        this.wake();
      });
    this.sends.add(send);
  }

  private async deliver(endpoint: WebhookConfig, claim: ClaimedDelivery): Promise<void> {
    const { clock, log, metrics } = this.o;
    if (!claim.event) {
      await this.completer.finish({
        delivery: claim,
        outcome: {
          status: "failed",
          error: "the event was deleted by retention before delivery",
          endpointOk: true,
          pauseAfterMs: endpoint.pauseAfterMs,
        },
      });
      metrics.delivered(claim, "failed");
      return;
    }
    const result = await sendWebhook({
      endpoint,
      webhookId: webhookId(claim.eventId),
      body: webhookBody(claim.event),
      timestampSeconds: Math.floor(clock.now() / 1000),
      resolve: this.o.resolve,
    });
    const outcome = decide(result, claim, endpoint, clock.now());
    const written = await this.completer.finish({ delivery: claim, outcome });
    metrics.delivered(claim, outcome.status === "pending" ? "retry" : outcome.status);
    const fields = { account_id: claim.accountId, endpoint: claim.endpointId, event_id: claim.eventId, attempt: claim.attempts + 1 };
    if (!written) log.warn(fields, "webhook lease lost: another instance took the delivery over");
    else if (outcome.status !== "delivered")
      log.info({ ...fields, status: outcome.status, error: redactAddressesIn(outcome.error ?? "") }, "webhook attempt failed");
  }
}

function wants(w: WebhookConfig, e: EventRow): boolean {
  const name = eventName(e.kind);
  return (
    (!w.events || (name !== undefined && w.events.has(name))) &&
    (!w.statuses || w.statuses.has(e.status)) &&
    (!w.tags || Object.entries(w.tags).every(([tag, value]) => e.tags[tag] === value))
  );
}
