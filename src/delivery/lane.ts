// One account's lane on this instance: its claimed rows waiting for one of its connections, for
// their start slot (a rate-limited account's fleet-wide pace, src/outbox/pace.ts) and for a
// slow-down pause to end. The lane starts each attempt on the transport of the relay the row's
// round and the relays' breakers allow (relay-choice.ts, relay-breakers.ts) or, for a
// failure_mode attempt, on a simulated failure, and paces its own starts by the same GCRA step.
import { DEFAULT_SLOW_DOWN_PAUSE_MS, type AccountConfig } from "../config/config.js";
import type { Clock } from "../db/clock.js";
import { isExpired } from "../outbox/expiry.js";
import { afterStart, conformingStart, holdPace, paceLimit, type PaceLimit } from "../outbox/pace.js";
import type { RelayStep } from "../outbox/outcome.js";
import type { AttemptOutcome, ClaimedMessage, FailureMode } from "../outbox/types.js";
import { attempt, attemptFields, type AttemptContext } from "./attempt.js";
import type { RelayBreakers } from "./relay-breakers.js";
import { afterAttempt, roundOf, type RoundStep } from "./relay-choice.js";
import { simulatedFailure } from "./simulated-failure.js";
import { AccountPause } from "./slow-down.js";
import type { TransportRetirement } from "./transport-retirement.js";
import { createTransport, type AccountTransport } from "./transports.js";

/** A claimed row on its way to an attempt. */
export interface Job {
  claim: ClaimedMessage;
  failureMode: FailureMode;
  /** When the claim's lease runs out; a job still waiting then is not attempted. */
  leaseExpiresAt: number;
  /** A RetryOutbox call waits for this one: it goes first and is never handed back to wait for its turn. */
  urgent: boolean;
  done: (written: boolean) => void;
}

/** What a lane needs from its sender. */
export interface LaneContext extends AttemptContext {
  clock: Clock;
  transports: TransportRetirement;
  breakers: RelayBreakers;
  allowFailureMode(): boolean;
  /**
   * The attempt ended: its outcome (with the relay it went through) is to be written, or
   * (undefined: never attempted) the job handed back.
   */
  ended(job: Job, outcome: AttemptOutcome | undefined, relay?: RelayStep): void;
  /** The job's lease ran out before it could start: it is not attempted. */
  expired(job: Job): void;
  /** Hands a waiting job back, due in `delayMs`. */
  handBack(job: Job, delayMs: number): void;
}

export class Lane {
  /** A transport per relay, by name. */
  private transports: Map<string, AccountTransport>;
  /** round_robin: the relay the next fresh round starts at. */
  private turn = 0;
  private readonly pause = new AccountPause();
  private readonly waiting: Job[] = [];
  private active = 0;
  /** The GCRA arrival time of the lane's own starts (service clock), for a rate-limited account. */
  private startTat = -Infinity;
  /** Set while the lane waits for a start slot or for a pause to end. */
  private timer?: NodeJS.Timeout;

  constructor(
    public account: AccountConfig,
    private readonly ctx: LaneContext,
  ) {
    this.transports = this.open(account);
  }

  /** The limit the account's starts are paced by fleet-wide, if any. */
  get limit(): PaceLimit | undefined {
    return paceLimit(this.account.rateLimit);
  }

  /** Jobs waiting or under way: the in-flight slots the account holds here. */
  get size(): number {
    return this.waiting.length + this.active;
  }

  get paused(): boolean {
    return this.pause.remainingMs() > 0;
  }

  /** ms until the job may start: its start slot, and the account's pause. */
  waitMs(job: Job): number {
    const now = this.ctx.clock.now();
    let at = job.claim.notBefore ?? -Infinity;
    // Slots a stall (a busy event loop, a slow connection) made us miss are made up no faster
    // than the limit allows: the lane's own starts conform to the same rate and burst.
    const limit = this.limit;
    if (limit) at = conformingStart(this.startTat, at, limit);
    return Math.max(this.pause.remainingMs(), at - now);
  }

  /** Queues a job (an urgent one first) and starts what can start. */
  add(job: Job): void {
    if (job.urgent) this.waiting.unshift(job);
    else this.waiting.push(job);
    this.pump();
  }

  /** Attempts under way at once: all the relays' connections for round_robin, the largest relay's for failover. */
  private get concurrency(): number {
    const each = [...this.transports.values()].map((t) => t.concurrency);
    return this.account.relayPolicy === "round_robin" ? each.reduce((a, b) => a + b, 0) : Math.max(...each);
  }

  private pump(): void {
    while (this.active < this.concurrency && this.waiting.length > 0) {
      const waitMs = this.waitMs(this.waiting[0]!);
      if (waitMs > 0) {
        this.timer ??= setTimeout(() => {
          this.timer = undefined;
          this.pump();
        }, Math.ceil(waitMs));
        return;
      }
      const job = this.waiting.shift()!;
      if (this.ctx.clock.now() >= job.leaseExpiresAt) {
        // The rescuer may already have handed the row to a new claim: sending now would deliver
        // it twice. The row stays with whoever holds the lease, or goes back when it is rescued.
        this.ctx.log.warn(attemptFields(job.claim), "lease expired before the attempt started; not attempted");
        this.ctx.expired(job);
        continue;
      }
      if (isExpired(job.claim.expireAt, this.ctx.clock.now())) {
        // It expired while it waited for a connection or its turn: handed back unstarted, and the
        // claim that finds it past its expiry makes it EXPIRED.
        this.ctx.handBack(job, 0);
        continue;
      }
      this.start(job);
    }
  }

  private start(job: Job): void {
    this.active++;
    const limit = this.limit;
    if (limit) this.startTat = afterStart(this.startTat, this.ctx.clock.now(), limit);
    void this.run(job).then((ended) => {
      this.active--;
      this.pump();
      if (ended) this.ctx.ended(job, ended.outcome, ended.relay);
    });
  }

  /**
   * Picks the relay, runs the attempt on its transport and tells the relay's breaker how it went.
   * Undefined when every relay left in the row's round has its breaker open: the job is handed
   * back, due when the first of them may be tried again.
   */
  private async run(job: Job): Promise<{ outcome: AttemptOutcome | undefined; relay?: RelayStep } | undefined> {
    const { claim } = job;
    const simulated = simulatedFailure(job.failureMode, this.ctx.allowFailureMode());
    const account = this.account;
    const round = roundOf(account, claim, account.relayPolicy === "round_robin" && claim.relay === null ? this.turn++ : 0);
    // A simulated failure reaches no relay: it asks no breaker. With one relay there is none to skip to.
    const breakers = !simulated && account.relays.length > 1 ? this.ctx.breakers : undefined;
    const step = breakers ? await this.admitted(round, breakers) : round[0];
    if (!step) {
      const names = round.map((s) => account.relays[s.index]!.name);
      const delayMs = Math.max(0, breakers!.reopensAt(account.id, names) - this.ctx.clock.now());
      this.ctx.log.info(
        { ...attemptFields(claim), relays: names, delay_ms: delayMs },
        "every relay left has its breaker open; claim handed back",
      );
      this.ctx.handBack(job, delayMs);
      return undefined;
    }
    const relay = account.relays[step.index]!.name;
    const transport = simulated ?? this.transports.get(relay)!;
    // A slow-down reply pauses the account only when no other relay is left to take the row.
    const lastRelay = afterAttempt(account, claim, step, true).next === undefined;
    this.ctx.transports.begin(transport);
    try {
      const outcome = await attempt(
        this.ctx,
        claim,
        account,
        transport,
        relay,
        (errorClass) => lastRelay && this.slowDown(claim, errorClass),
      );
      if (!outcome) return { outcome };
      const relayFailed = outcome.kind === "failed" && outcome.relayLevel === true;
      if (relayFailed) breakers?.failed(account, relay);
      else breakers?.succeeded(account, relay);
      return { outcome, relay: afterAttempt(account, claim, step, relayFailed) };
    } finally {
      this.ctx.transports.end(transport);
    }
  }

  /** The first relay of the round whose breaker lets an attempt through. */
  private async admitted(round: readonly RoundStep[], breakers: RelayBreakers): Promise<RoundStep | undefined> {
    await breakers.fresh();
    for (const step of round) if (await breakers.admits(this.account, this.account.relays[step.index]!.name)) return step;
    return undefined;
  }

  /**
   * The server asked this account to slow down: start nothing on it for a while (on every
   * instance, when the account is rate-limited: the pause moves its shared pace on) and hand back
   * what waits in the lane, due when the pause ends.
   */
  private slowDown(claim: ClaimedMessage, errorClass: string): void {
    const { pool, clock, log, metrics } = this.ctx;
    const pauseMs = this.account.rateLimit?.slowDownPauseMs ?? DEFAULT_SLOW_DOWN_PAUSE_MS;
    this.pause.pause(pauseMs);
    const limit = this.limit;
    if (limit) {
      void holdPace(pool, this.account.id, clock.now() + pauseMs, limit).catch((err: Error) =>
        log.warn({ account_id: this.account.id, err: err.message }, "could not pause the account's shared pace"),
      );
    }
    metrics?.slowedDown(claim.accountId);
    log.warn({ ...attemptFields(claim), error_class: errorClass, pause_ms: pauseMs }, "slow-down reply: account paused");
    for (const job of this.waiting.splice(0)) {
      if (job.urgent) this.waiting.push(job);
      else this.ctx.handBack(job, pauseMs);
    }
  }

  /**
   * A reloaded config's settings for the account, at once; a new transport for the next attempts
   * if its delivery settings changed (attempts under way finish on the one they started on).
   */
  reconfigure(account: AccountConfig): void {
    // The wait for a start slot or a pause is worked out again by pump(), under the new limits.
    this.clearTimer();
    if (!sameDelivery(account, this.account)) {
      for (const transport of this.transports.values()) this.ctx.transports.retire(transport);
      this.transports = this.open(account);
    }
    this.account = account;
    this.pump();
  }

  /** The account was removed: nothing more starts here. Returns the jobs that were waiting. */
  retire(): Job[] {
    for (const transport of this.transports.values()) this.ctx.transports.retire(transport);
    return this.stopWaiting();
  }

  /** Stops the lane's timer and takes out the jobs that were waiting (on stop, say). */
  stopWaiting(): Job[] {
    this.clearTimer();
    return this.waiting.splice(0);
  }

  private clearTimer(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  close(): void {
    for (const transport of this.transports.values()) transport.close();
  }

  private open(account: AccountConfig): Map<string, AccountTransport> {
    return new Map(
      account.relays.map((relay) => [relay.name, createTransport(account, relay, { log: this.ctx.log, metrics: this.ctx.metrics })]),
    );
  }
}

/** Same relays (servers, credentials, connection limits, or the same folder) and DKIM key: the transports can stay. */
function sameDelivery(a: AccountConfig, b: AccountConfig): boolean {
  return JSON.stringify([a.relays, a.dkim]) === JSON.stringify([b.relays, b.dkim]);
}
