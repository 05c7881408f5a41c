// The background sender: claims due rows in batches and queues each on its account's lane
// (lane.ts: at most that account's connection count at once, paced by its rate limit), which runs
// the attempt (attempt.ts); outcomes go to the completer. A claimed row that never started is
// handed back (hand-back.ts: on stop, or to wait for its account's turn) without costing an attempt.
import type { Config } from "../config/config.js";
import type { Clock } from "../db/clock.js";
import { Poller } from "../lib/poller.js";
import type { Logger } from "../lib/log.js";
import type { SenderMetrics } from "../metrics/metrics.js";
import { claimDue, claimForRetry, newLeaseToken, type Lease } from "../outbox/claims.js";
import type { Pool } from "../db/pool.js";
import type { HandoffLease } from "../outbox/enqueue.js";
import type { Handoff } from "../outbox/group-commit.js";
import { finalization, type RelayStep } from "../outbox/outcome.js";
import { paceLimit, type PacedAccount } from "../outbox/pace.js";
import type { AttemptOutcome, ClaimedMessage, FailureMode, NewMessage } from "../outbox/types.js";
import { everyRecipientSuppressed } from "../outbox/suppressed-recipients.js";
import { attemptFields } from "./attempt.js";
import { backoffMs } from "./backoff.js";
import { Completer } from "./completer.js";
import { HandBack } from "./hand-back.js";
import { Lane, type Job, type LaneContext } from "./lane.js";
import { leaseOwner } from "./lease-owner.js";
import { RelayBreakers } from "./relay-breakers.js";
import { TransportRetirement } from "./transport-retirement.js";

export class SenderStoppedError extends Error {
  override name = "SenderStoppedError";
}

export class Sender {
  readonly owner: string;
  private readonly lanes = new Map<number, Lane>();
  private readonly completer: Completer;
  private readonly handBack: HandBack;
  private readonly transports = new TransportRetirement();
  /** The fleet's relay breakers as this sender sees them (also for /readyz and the metrics). */
  readonly relayBreakers: RelayBreakers;
  private readonly laneContext: LaneContext;
  /** Rows claimed and not yet finalized. */
  private held = 0;
  /** Claims, one at a time: wake-ups during a claim merge into one more right after it. */
  private readonly claims = new Poller(() => this.fill());
  /** The last claim came back full: more rows are probably due. */
  private backlog = false;
  /** Rate-limited accounts whose last claim took all their share allowed. */
  private readonly pacedBacklog = new Set<number>();
  /** Claims nothing until started: an app run without background work only enqueues. */
  private started = false;
  private stopping = false;
  private allDone?: () => void;

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
    this.handBack = new HandBack({ pool, clock, log, metrics, onCommit, settled: (job) => this.settle(job, false) });
    this.relayBreakers = new RelayBreakers(pool, clock, log, () => this.config.sender.pollIntervalMs);
    this.laneContext = {
      pool,
      clock,
      log,
      metrics,
      transports: this.transports,
      breakers: this.relayBreakers,
      allowFailureMode: () => this.config.allowFailureMode,
      // Not attempted (its attachments could not be read): back to the queue, no attempt spent.
      ended: (job, outcome, relay) =>
        outcome ? void this.finish(job, outcome, relay) : this.handBack.later(job, this.config.sender.pollIntervalMs),
      expired: (job) => this.settle(job, false),
      handBack: (job, delayMs) => this.handBack.later(job, delayMs),
    };
  }

  start(): void {
    this.started = true;
    this.claims.start(this.config.sender.pollIntervalMs);
    this.claims.wake();
  }

  /** Look for due rows now (a row was just enqueued here, or a slot freed up). */
  wake(): void {
    this.claims.wake();
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
      if (!lane || lane.limit || lane.paused) return false;
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
      void this.handBack.now(claims).finally(() => this.settleReserved(claims.length));
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
        await this.handBack.flushed();
        if (!this.backlog) break;
      }
    } catch (err) {
      // The database is unreachable or overloaded: the next poll tries again.
      this.log.error({ err: (err as Error).message }, "claim failed");
    }
  }

  /** Queues a claimed row on its account's lane; resolves when its outcome is written. */
  private dispatch(claim: ClaimedMessage, failureMode: FailureMode, lease: Lease, urgent = false): Promise<boolean> {
    this.held++;
    return new Promise<boolean>((done) => {
      const job: Job = { claim, failureMode, leaseExpiresAt: lease.now + lease.leaseMs, urgent, done };
      const lane = this.lane(claim.accountId);
      if (!lane) {
        // Claims skip accounts this instance lacks; one can still arrive in a reload's window.
        // It goes back unspent: another instance (or this one, reloaded) may have the account.
        this.log.warn(attemptFields(claim), "account not configured here; claim handed back");
        return this.handBack.later(job, this.config.sender.pollIntervalMs);
      }
      if (!urgent && this.mustWaitOutside(lane, job)) return this.handBack.later(job, lane.waitMs(job));
      lane.add(job);
    });
  }

  /**
   * A claim that would wait for its turn goes back to the queue when that turn is further off than
   * holdMs (always far inside the lease), or when the account already holds half the in-flight
   * slots. Claims that can start now always stay. So a slow account never fills the in-flight
   * slots and holds up the others.
   */
  private mustWaitOutside(lane: Lane, job: Job): boolean {
    const turnMs = lane.waitMs(job);
    if (turnMs <= 0) return false;
    return turnMs > this.holdMs() || lane.size >= this.laneShare();
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
      const limit = paceLimit(account.rateLimit);
      return limit ? [{ id: account.id, ...limit, max: this.pacedRoom(account.id) }] : [];
    });
  }

  private pacedRoom(accountId: number): number {
    const lane = this.lane(accountId);
    if (!lane || lane.paused) return 0;
    const share = this.laneShare();
    const room = share - lane.size;
    return room >= Math.max(1, share / 4) ? room : 0;
  }

  private lane(accountId: number): Lane | undefined {
    let lane = this.lanes.get(accountId);
    if (!lane) {
      const account = this.config.accounts.get(accountId);
      if (!account) return undefined;
      lane = new Lane(account, this.laneContext);
      this.lanes.set(accountId, lane);
    }
    return lane;
  }

  private async finish(job: Job, outcome: AttemptOutcome, relay?: RelayStep): Promise<void> {
    const fin = finalization(job.claim, outcome, this.clock.now(), { maxAttempts: this.config.sender.maxAttempts, backoffMs }, relay);
    const written = await this.completer.submit(fin);
    if (written && fin.transition === "failover") {
      this.metrics?.failedOver(fin.accountId, relay!.used);
      // Due now on the next relay: claimed at once, not at the next poll.
      this.wake();
    } else if (written) {
      this.metrics?.finalized(fin.accountId, fin.status as "sent" | "failed" | "dead", fin.errorClass, job.claim.tags);
    }
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
      await this.handBack.now([claim]);
      throw new SenderStoppedError("the server is stopping");
    }
    const written = await this.dispatch(claim, failureMode, lease, true);
    if (!written && this.stopping) throw new SenderStoppedError("the server is stopping");
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
      if (account) {
        lane.reconfigure(account);
        continue;
      }
      this.lanes.delete(id);
      for (const job of lane.retire()) this.handBack.later(job, 0);
    }
  }

  /**
   * Graceful stop: claim nothing more, hand back unstarted claims, let attempts under way finish
   * (up to timeoutMs), then close the transports. Leases left behind by a timeout are rescued.
   */
  async stop(timeoutMs = this.config.sender.shutdownTimeoutMs): Promise<void> {
    this.stopping = true;
    await this.claims.stop();
    const unstarted = [...this.lanes.values()].flatMap((lane) => lane.stopWaiting());
    if (unstarted.length > 0) {
      await this.handBack.now(unstarted.map((j) => j.claim));
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
    for (const lane of this.lanes.values()) lane.close();
    this.transports.closeAll();
    this.lanes.clear();
  }
}
