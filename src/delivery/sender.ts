// The background sender: claims due rows in batches, sends each through its account's pooled
// transport (at most that account's connection count at once, paced by its rate limit), and hands
// outcomes to the completer. A claimed row that never started is handed back (on stop, or to wait
// for its account's turn) without costing an attempt.
import { DEFAULT_SLOW_DOWN_PAUSE_MS, type AccountConfig, type Config } from "../config/config.js";
import type { Clock } from "../db/clock.js";
import type { SenderMetrics } from "../metrics/metrics.js";
import { redactAddressesIn, type Logger } from "../lib/log.js";
import { AttachmentIncompleteError, loadAttachments } from "../outbox/attachments.js";
import { claimDue, claimForRetry, newLeaseToken, releaseClaims, type Finalization, type Lease } from "../outbox/claims.js";
import { afterStart, conformingStart, holdPace, type PaceLimit, type PacedAccount } from "../outbox/pace.js";
import type { Pool } from "../db/pool.js";
import type { HandoffLease } from "../outbox/enqueue.js";
import type { Handoff } from "../outbox/group-commit.js";
import { FailureMode, type AttemptOutcome, type ClaimedMessage, type MessageAttachment, type NewMessage } from "../outbox/types.js";
import { backoffMs } from "./backoff.js";
import { classifySmtpError } from "./classify.js";
import { Completer } from "./completer.js";
import { leaseOwner } from "./lease-owner.js";
import { composeMessage } from "./compose.js";
import { verpAddress } from "../message/verp.js";
import { everyRecipientSuppressed } from "../outbox/suppressed-recipients.js";
import { ownAddress } from "../message/sender-identity.js";
import { createTransport, type AccountTransport } from "./transports.js";
import { AccountPause, isSlowDownReply } from "./rate-limit.js";

interface Job {
  claim: ClaimedMessage;
  failureMode: FailureMode;
  /** When the claim's lease runs out; a job still waiting then is not attempted. */
  leaseExpiresAt: number;
  /** A RetryOutbox call waits for this one: it is never handed back to wait for its turn. */
  urgent: boolean;
  done: (written: boolean) => void;
}

/**
 * Claimed rows of one account waiting for one of its connections, for their start slot (a
 * rate-limited account's fleet-wide pace) and for a slow-down pause to end. A lane holds only
 * what can start soon; claims whose turn is further off are handed back with that turn as their
 * due time, so a slow account never fills the sender's in-flight slots and holds up the others.
 */
interface Lane {
  account: AccountConfig;
  transport: AccountTransport;
  pause: AccountPause;
  waiting: Job[];
  active: number;
  /** The GCRA arrival time of the lane's own starts (service clock), for a rate-limited account. */
  startTat: number;
  /** Set while the lane waits for a start slot or for a pause to end. */
  timer?: NodeJS.Timeout;
}

/** The log fields of every line about one attempt. */
function attemptFields(claim: ClaimedMessage) {
  return { outbox_id: claim.id, account_id: claim.accountId, attempt: claim.retries + 1, message_id: claim.messageId };
}

export class SenderStoppedError extends Error {
  override name = "SenderStoppedError";
}

export class Sender {
  readonly owner: string;
  private readonly lanes = new Map<number, Lane>();
  private readonly completer: Completer;
  /** Rows claimed and not yet finalized. */
  private held = 0;
  private filling?: Promise<void>;
  private refill = false;
  /** The last claim came back full: more rows are probably due. */
  private backlog = false;
  /** Rate-limited accounts whose last claim took all their share allowed. */
  private readonly pacedBacklog = new Set<number>();
  private timer?: NodeJS.Timeout;
  /** Claims nothing until started: an app run without background work only enqueues. */
  private started = false;
  private stopping = false;
  private allDone?: () => void;
  /** Claims to hand back at the end of this tick, each due at its turn. */
  private deferring: { job: Job; dueAt: number }[] = [];
  /** Attempts under way per transport, so one replaced by a reload closes once they end. */
  private readonly attemptsOn = new Map<AccountTransport, number>();
  private readonly retired = new Set<AccountTransport>();

  constructor(
    private config: Config,
    private readonly pool: Pool,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly onCommit: () => void,
    private readonly metrics?: SenderMetrics,
    owner: string = leaseOwner(),
  ) {
    this.owner = owner;
    this.completer = new Completer(pool, clock, log, onCommit);
  }

  start(): void {
    this.started = true;
    this.timer = setInterval(() => this.wake(), this.config.sender.pollIntervalMs);
    this.wake();
  }

  /** Look for due rows now (a row was just enqueued here, or a slot freed up). */
  wake(): void {
    if (this.stopping || !this.started) return;
    if (this.filling) {
      this.refill = true;
      return;
    }
    this.filling = this.fill().finally(() => {
      this.filling = undefined;
      if (this.refill) {
        this.refill = false;
        this.wake();
      }
    });
  }

  /**
   * The hand-off from the group commit: messages due now, of accounts that can start at once,
   * are committed already leased to this sender while it has free slots, and start as soon as
   * their transaction commits. Everything else waits in the queue for a claim.
   */
  readonly handoff: Handoff = {
    reserve: (msgs, now) => this.reserve(msgs, now),
    start: (lease, claims) => this.startHandedOff(lease, claims),
    cancel: (_lease, count) => this.settleReserved(count),
  };

  private reserve(msgs: readonly NewMessage[], now: number): { lease: HandoffLease; take: boolean[] } | undefined {
    if (!this.started || this.stopping) return undefined;
    let room = this.config.sender.maxInFlight - this.held;
    if (room <= 0) return undefined;
    const take = msgs.map((m) => {
      if (room <= 0 || m.sendAt > now || everyRecipientSuppressed(m)) return false;
      // A rate-limited account's rows take their start slots in a claim, from the shared pace.
      const lane = this.lane(m.accountId);
      if (!lane || paceLimit(lane.account) || lane.pause.remainingMs() > 0) return false;
      room--;
      return true;
    });
    const count = take.filter(Boolean).length;
    if (count === 0) return undefined;
    this.held += count;
    return { lease: { ...this.lease(), now, token: newLeaseToken() }, take };
  }

  private startHandedOff(lease: HandoffLease, claims: ClaimedMessage[]): void {
    this.metrics?.claimed(claims.length);
    if (this.stopping) {
      // stop() began while the rows were committing: hand them back instead of starting them.
      void this.release(claims).finally(() => this.settleReserved(claims.length));
      return;
    }
    // dispatch() counts each row in again.
    this.held -= claims.length;
    for (const claim of claims) void this.dispatch(claim, claim.failureMode, lease);
  }

  /** Reserved slots that hold no row (any more). */
  private settleReserved(count: number): void {
    this.held -= count;
    if (this.stopping && this.held === 0) this.allDone?.();
  }

  /** Number of rows this sender holds a lease on (claimed, not yet finalized). */
  get heldCount(): number {
    return this.held;
  }

  private lease(): Lease {
    return {
      owner: this.owner,
      now: this.clock.now(),
      leaseMs: this.config.sender.leaseMs,
      messageIdDomain: this.config.messageIdDomain,
    };
  }

  private async fill(): Promise<void> {
    const { batchSize, maxInFlight } = this.config.sender;
    // Woken for due rows with no slot free: claim as soon as slots free up.
    if (this.held >= maxInFlight) this.backlog = true;
    try {
      while (!this.stopping && this.held < maxInFlight) {
        const want = Math.min(batchSize, maxInFlight - this.held);
        // Under a backlog a claim per freed slot would cost a transaction per message.
        if (this.backlog && want < this.refillAt()) break;
        const lease = this.lease();
        const pacing = { accounts: this.pacedAccounts(), horizonMs: this.holdMs() };
        const claims = await claimDue(this.pool, want, lease, [...this.config.accounts.keys()], pacing);
        this.backlog = claims.length === want;
        // A rate-limited account that got all the rows its share allowed probably has more due:
        // it is claimed again as its lane frees up, not at the next poll.
        const taken = new Map<number, number>();
        for (const c of claims) taken.set(c.accountId, (taken.get(c.accountId) ?? 0) + 1);
        for (const a of pacing.accounts) {
          if (a.max === 0) continue;
          if (taken.get(a.id) === a.max) this.pacedBacklog.add(a.id);
          else this.pacedBacklog.delete(a.id);
        }
        this.metrics?.claimed(claims.length);
        if (claims.length > 0) this.onCommit();
        for (const claim of claims) void this.dispatch(claim, claim.failureMode, lease);
        // Claims handed back free their slots before the next claim, not a tick later.
        if (this.deferring.length > 0) await this.flushDeferred();
        if (!this.backlog) break;
      }
    } catch (err) {
      // The database is unreachable or overloaded: the next poll tries again.
      this.log.error({ err: (err as Error).message }, "claim failed");
    }
  }

  /** Queues a claimed row on its account's lane; resolves when its outcome is written. */
  private dispatch(claim: ClaimedMessage, failureMode: FailureMode, lease: Lease, first = false): Promise<boolean> {
    this.held++;
    return new Promise<boolean>((done) => {
      const job: Job = { claim, failureMode, leaseExpiresAt: lease.now + lease.leaseMs, urgent: first, done };
      const lane = this.lane(claim.accountId);
      if (!lane) {
        // Claims skip accounts this instance lacks; one can still arrive in a reload's window.
        // It goes back unspent: another instance (or this one, reloaded) may have the account.
        this.log.warn(attemptFields(claim), "account not configured here; claim handed back");
        return this.defer(claim.accountId, job, this.config.sender.pollIntervalMs);
      }
      if (!first && this.mustWaitOutside(lane, job)) return this.defer(lane.account.id, job, this.waitMs(lane, job));
      if (first) lane.waiting.unshift(job);
      else lane.waiting.push(job);
      this.pump(lane);
    });
  }

  /**
   * A claim that would wait for its turn goes back to the queue when that turn is further off than
   * holdMs (always far inside the lease), or when the account already holds half the in-flight
   * slots. Claims that can start now always stay.
   */
  private mustWaitOutside(lane: Lane, job: Job): boolean {
    const turnMs = this.waitMs(lane, job);
    if (turnMs <= 0) return false;
    return turnMs > this.holdMs() || lane.waiting.length + lane.active >= this.laneShare();
  }

  /** ms until the job may start: its start slot, and its account's pause. */
  private waitMs(lane: Lane, job: Job): number {
    const now = this.clock.now();
    let at = job.claim.notBefore ?? -Infinity;
    // Slots a stall (a busy event loop, a slow connection) made us miss are made up no faster
    // than the limit allows: the lane's own starts conform to the same rate and burst.
    const limit = paceLimit(lane.account);
    if (limit) at = conformingStart(lane.startTat, at, limit);
    return Math.max(lane.pause.remainingMs(), at - now);
  }

  /** How long a claim may wait in a lane: a couple of poll intervals. Start slots are taken this far ahead. */
  private holdMs(): number {
    const { pollIntervalMs, leaseMs } = this.config.sender;
    return Math.min(Math.max(2_000, 2 * pollIntervalMs), leaseMs / 4);
  }

  /** The in-flight slots one account may hold while its claims wait for their turn. */
  private laneShare(): number {
    return Math.max(1, Math.floor(this.config.sender.maxInFlight / 2));
  }

  /**
   * The rate-limited accounts, each with the rows a claim may take for it now: none while paused,
   * and none until a quarter of its share is free, so that a busy account is not claimed for one
   * row (one transaction) at a time.
   */
  private pacedAccounts(): PacedAccount[] {
    return [...this.config.accounts.values()].flatMap((account) => {
      const limit = paceLimit(account);
      return limit ? [{ id: account.id, ...limit, max: this.pacedRoom(account.id) }] : [];
    });
  }

  private pacedRoom(accountId: number): number {
    const lane = this.lane(accountId);
    if (!lane || lane.pause.remainingMs() > 0) return 0;
    const share = this.laneShare();
    const room = share - lane.waiting.length - lane.active;
    return room >= Math.max(1, share / 4) ? room : 0;
  }

  private lane(accountId: number): Lane | undefined {
    let lane = this.lanes.get(accountId);
    if (!lane) {
      const account = this.config.accounts.get(accountId);
      if (!account) return undefined;
      lane = { account, transport: createTransport(account, account.relays[0]!, { log: this.log, metrics: this.metrics }), pause: new AccountPause(), waiting: [], active: 0, startTat: -Infinity };
      this.lanes.set(accountId, lane);
    }
    return lane;
  }

  private pump(lane: Lane): void {
    while (lane.active < lane.transport.concurrency && lane.waiting.length > 0) {
      const waitMs = this.waitMs(lane, lane.waiting[0]!);
      if (waitMs > 0) {
        lane.timer ??= setTimeout(() => {
          lane.timer = undefined;
          this.pump(lane);
        }, Math.ceil(waitMs));
        return;
      }
      const job = lane.waiting.shift()!;
      if (this.clock.now() >= job.leaseExpiresAt) {
        // The rescuer may already have handed the row to a new claim: sending now would deliver
        // it twice. The row stays with whoever holds the lease, or goes back when it is rescued.
        this.log.warn(attemptFields(job.claim), "lease expired before the attempt started; not attempted");
        this.settle(job, false);
        continue;
      }
      lane.active++;
      const limit = paceLimit(lane.account);
      if (limit) lane.startTat = afterStart(lane.startTat, this.clock.now(), limit);
      const transport = lane.transport;
      this.attemptsOn.set(transport, (this.attemptsOn.get(transport) ?? 0) + 1);
      void this.attempt(transport, job, lane.account).then((outcome) => {
        lane.active--;
        this.attemptEnded(transport);
        this.pump(lane);
        // Not attempted (its attachments could not be read): back to the queue, no attempt spent.
        if (!outcome) return this.defer(lane.account.id, job, this.config.sender.pollIntervalMs);
        return this.finish(job, outcome);
      });
    }
  }

  /** The attempt's outcome; undefined when it never reached the SMTP server through no fault of its own. */
  private async attempt(transport: AccountTransport, job: Job, account: AccountConfig): Promise<AttemptOutcome | undefined> {
    const { claim } = job;
    if (this.config.allowFailureMode && job.failureMode === FailureMode.network) {
      return { kind: "failed", error: "simulated network timeout", errorClass: "NETWORK", permanent: false };
    }
    if (this.config.allowFailureMode && job.failureMode === FailureMode.provider) {
      return { kind: "failed", error: "simulated provider rejection", errorClass: "SMTP_PERMANENT", permanent: true };
    }
    // Attachment bytes are read from the outbox now, not at claim time: only attempts under way
    // hold them in memory. A database that fails this read is no fault of the SMTP server's, so it
    // costs no attempt (and does not move the Message-ID on); bytes that are gone make it DEAD.
    let files: MessageAttachment[] = [];
    try {
      if (claim.hasAttachments) files = (await loadAttachments(this.pool, [claim.id])).get(claim.id) ?? [];
    } catch (err) {
      if (err instanceof AttachmentIncompleteError) return { kind: "failed", error: err.message, errorClass: "ATTACHMENT_INCOMPLETE", permanent: true };
      this.log.warn({ ...attemptFields(claim), err: (err as Error).message }, "could not read the attachments; claim handed back");
      return undefined;
    }
    const started = Date.now();
    try {
      const envelopeFrom = account.verp ? verpAddress(account.id, claim.id, account.verp) : ownAddress(account.from);
      const providerMessageId = await transport.send(composeMessage(claim, files, envelopeFrom));
      this.metrics?.attempted(claim.accountId, "sent", (Date.now() - started) / 1000);
      // Per-attempt success is debug: at volume an info line per message costs more than it tells;
      // the outcome is in the row, its events and the metrics.
      this.log.debug({ ...attemptFields(claim), ms: Date.now() - started }, "sent");
      return { kind: "sent", providerMessageId };
    } catch (err) {
      const outcome = classifySmtpError(err);
      this.metrics?.attempted(claim.accountId, "failed", (Date.now() - started) / 1000);
      this.log.warn({ ...attemptFields(claim), error_class: outcome.errorClass, error: redactAddressesIn(outcome.error) }, "attempt failed");
      if (isSlowDownReply(err)) this.slowDown(claim, outcome.errorClass);
      return outcome;
    }
  }

  /**
   * The server asked this account to slow down: start nothing on it for a while (on every
   * instance, when the account is rate-limited: the pause moves its shared pace on) and hand back
   * what waits in its lane, due when the pause ends.
   */
  private slowDown(claim: ClaimedMessage, errorClass: string): void {
    const lane = this.lanes.get(claim.accountId);
    if (!lane) return;
    const pauseMs = lane.account.rateLimit?.slowDownPauseMs ?? DEFAULT_SLOW_DOWN_PAUSE_MS;
    lane.pause.pause(pauseMs);
    const limit = paceLimit(lane.account);
    if (limit) {
      void holdPace(this.pool, lane.account.id, this.clock.now() + pauseMs, limit)
        .catch((err: Error) => this.log.warn({ account_id: lane.account.id, err: err.message }, "could not pause the account's shared pace"));
    }
    this.metrics?.slowedDown(claim.accountId);
    this.log.warn({ ...attemptFields(claim), error_class: errorClass, pause_ms: pauseMs }, "slow-down reply: account paused");
    const waiting = lane.waiting.splice(0);
    for (const job of waiting) {
      if (job.urgent) lane.waiting.push(job);
      else this.defer(lane.account.id, job, pauseMs);
    }
  }

  /** Hands a claim back (at the end of this tick, with the others), due in `delayMs`. */
  private defer(accountId: number, job: Job, delayMs: number): void {
    if (this.deferring.length === 0) setImmediate(() => void this.flushDeferred());
    this.deferring.push({ job, dueAt: this.clock.now() + Math.ceil(delayMs) });
    this.metrics?.deferred(accountId, 1);
  }

  private async flushDeferred(): Promise<void> {
    const batch = this.deferring.splice(0);
    if (batch.length === 0) return;
    try {
      await releaseClaims(this.pool, batch.map(({ job, dueAt }) => ({ id: job.claim.id, leaseToken: job.claim.leaseToken, dueAt })), this.clock.now());
      this.onCommit();
      const last = batch[batch.length - 1]!;
      this.log.debug({ account_ids: [...new Set(batch.map((d) => d.job.claim.accountId))], deferred: batch.length, last_due_at: new Date(last.dueAt).toISOString() },
        "handed back claims to wait for their account's turn");
    } catch (err) {
      this.log.error({ err: (err as Error).message }, "could not hand back claims; their leases will expire");
    }
    for (const { job } of batch) this.settle(job, false);
  }

  private async finish(job: Job, outcome: AttemptOutcome): Promise<void> {
    const fin = this.decide(job.claim, outcome);
    const written = await this.completer.submit(fin);
    if (written) this.metrics?.finalized(fin.accountId, fin.status, fin.errorClass, job.claim.tags);
    this.settle(job, written);
  }

  /** The job no longer holds a lease here: count it out and tell whoever waits for it. */
  private settle(job: Job, written: boolean): void {
    this.held--;
    job.done(written);
    if (this.stopping) {
      if (this.held === 0) this.allDone?.();
    } else if (this.backlog && this.config.sender.maxInFlight - this.held >= this.refillAt()) {
      this.wake();
    } else if (this.pacedBacklog.has(job.claim.accountId) && this.pacedRoom(job.claim.accountId) > 0) {
      this.wake();
    }
  }

  /** Free slots worth a claim while rows are waiting: a batch, or a quarter of the slots if fewer. */
  private refillAt(): number {
    const { batchSize, maxInFlight } = this.config.sender;
    return Math.max(1, Math.min(batchSize, Math.floor(maxInFlight / 4)));
  }

  /** The row's next state: sent, failed with backoff, or dead (permanent or out of attempts). */
  private decide(claim: ClaimedMessage, outcome: AttemptOutcome): Finalization {
    const base = { id: claim.id, accountId: claim.accountId, leaseToken: claim.leaseToken, messageId: claim.messageId };
    if (outcome.kind === "sent") {
      return {
        ...base, status: "sent", retries: claim.retries, messageSeq: claim.messageSeq, nextAttemptAt: null,
        providerMessageId: outcome.providerMessageId, error: null, errorClass: null,
      };
    }
    const retries = claim.retries + 1;
    // The attempt counts either way; only a clear failure moves the Message-ID on, since after an
    // unknown outcome the server may hold this copy and the retry must be recognisable as it.
    const messageSeq = outcome.ambiguous ? claim.messageSeq : retries;
    const dead = outcome.permanent || retries >= this.config.sender.maxAttempts;
    return {
      ...base,
      status: dead ? "dead" : "failed",
      retries,
      messageSeq,
      nextAttemptAt: dead ? null : this.clock.now() + backoffMs(retries),
      providerMessageId: null,
      error: outcome.error,
      errorClass: outcome.errorClass,
    };
  }

  /**
   * RetryOutbox: claims the row now (refusals come from the outbox), attempts it ahead of queued
   * work, and resolves once the outcome is written.
   */
  async retryNow(id: number, force: boolean, failureMode: FailureMode): Promise<void> {
    if (this.stopping) throw new SenderStoppedError("the server is stopping");
    const lease = this.lease();
    const claim = await claimForRetry(this.pool, id, force, lease, this.pacedAccounts());
    this.onCommit();
    // stop() may have run while the claim was committing: its transports are closed, so hand
    // the row back rather than start an attempt nothing would wait for.
    if (this.stopping) {
      await this.release([claim]);
      throw new SenderStoppedError("the server is stopping");
    }
    const written = await this.dispatch(claim, failureMode, lease, true);
    if (!written && this.stopping) throw new SenderStoppedError("the server is stopping");
  }

  /** Hands claims back to the queue without spending an attempt; if that fails, their leases expire. */
  private async release(claims: ClaimedMessage[]): Promise<void> {
    try {
      const n = await releaseClaims(this.pool, claims, this.clock.now());
      this.onCommit();
      this.log.info({ released: n }, "handed back unstarted claims");
    } catch (err) {
      this.log.error({ err: (err as Error).message }, "could not hand back claims; their leases will expire");
    }
  }

  /**
   * Applies a reloaded config. Limits apply at once; an account whose delivery settings changed
   * gets a new transport for its next attempts; a removed account starts nothing more (what
   * waits in its lane is handed back). Attempts under way finish on the transport they started on.
   */
  reconfigure(config: Config): void {
    this.config = config;
    for (const [id, lane] of this.lanes) {
      const account = config.accounts.get(id);
      clearTimeout(lane.timer);
      lane.timer = undefined;
      if (!account) {
        this.lanes.delete(id);
        this.retire(lane.transport);
        for (const job of lane.waiting.splice(0)) this.defer(id, job, 0);
        continue;
      }
      if (!sameDelivery(account, lane.account)) {
        this.retire(lane.transport);
        lane.transport = createTransport(account, account.relays[0]!, { log: this.log, metrics: this.metrics });
      }
      lane.account = account;
      this.pump(lane);
    }
  }

  /** Closes a replaced transport once the attempts under way on it have ended. */
  private retire(transport: AccountTransport): void {
    if (this.attemptsOn.has(transport)) this.retired.add(transport);
    else transport.close();
  }

  private attemptEnded(transport: AccountTransport): void {
    const n = this.attemptsOn.get(transport)! - 1;
    if (n > 0) return void this.attemptsOn.set(transport, n);
    this.attemptsOn.delete(transport);
    if (this.retired.delete(transport)) transport.close();
  }

  /**
   * Graceful stop: claim nothing more, hand back unstarted claims, let attempts under way finish
   * (up to timeoutMs), then close the transports. Leases left behind by a timeout are rescued.
   */
  async stop(timeoutMs = this.config.sender.shutdownTimeoutMs): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    await this.filling;
    const unstarted: Job[] = [];
    for (const lane of this.lanes.values()) {
      clearTimeout(lane.timer);
      unstarted.push(...lane.waiting.splice(0));
    }
    if (unstarted.length > 0) {
      await this.release(unstarted.map((j) => j.claim));
      this.held -= unstarted.length;
      for (const job of unstarted) job.done(false);
    }
    if (this.held > 0) {
      let timer: NodeJS.Timeout | undefined;
      const finished = new Promise<void>((resolve) => (this.allDone = resolve));
      const timedOut = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
      await Promise.race([finished, timedOut]);
      clearTimeout(timer);
      if (this.held > 0) {
        this.log.warn({ in_flight: this.held }, "stop timed out; leases will be rescued");
        this.completer.abandon();
      }
    }
    await this.completer.idle();
    for (const lane of this.lanes.values()) lane.transport.close();
    for (const transport of this.retired) transport.close();
    this.lanes.clear();
    this.retired.clear();
  }
}

/** The limit an account's starts are paced by fleet-wide (rate_limit.max_per_second), if any. */
function paceLimit(account: AccountConfig): PaceLimit | undefined {
  const limit = account.rateLimit;
  return limit?.maxPerSecond === undefined ? undefined : { maxPerSecond: limit.maxPerSecond, burst: limit.burst };
}

/** Same server, credentials, connection limits and DKIM key (or the same folder): the transport can stay. */
function sameDelivery(a: AccountConfig, b: AccountConfig): boolean {
  return JSON.stringify([a.relays, a.dkim]) === JSON.stringify([b.relays, b.dkim]);
}
