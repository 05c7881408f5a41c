// One instance per fleet for a role: the rescuer, the event pruner and outbox retention run on the
// one instance that holds the `maintenance` lease, and each account's IMAP ingest on the holder of
// its own (`imap_{id}`). A lease is a row with an expiry on the database clock
// (src/outbox/fleet-lease.ts), renewed every `retryMs` and lost after `3 × retryMs` without a
// renewal; when its holder dies, another instance takes it at its first try after the expiry.
// A holder that cannot renew (a database cut, a long pause) stops acting at its own deadline,
// before the lease can have moved on; its writes are fenced by the token besides.
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { Logger } from "../lib/log.js";
import type { Pool } from "./pool.js";
import { releaseLease, takeOrRenewLease, type Lease } from "./fleet-lease.js";

export interface FleetLockRole {
  /** The lease's name, unique per role: "maintenance", "imap_7". */
  key: string;
  /** For log lines: what the holder does. */
  what: string;
  /** Told each time this instance takes or loses the lease. */
  onChange?: (held: boolean) => void;
}

const MAINTENANCE: FleetLockRole = { key: "maintenance", what: "the fleet's maintenance" };

export class FleetLock {
  private lease_?: Lease;
  /** Local deadline (monotonic ms) until which the last renewal keeps the lease ours. */
  private validUntil = 0;
  private timer?: NodeJS.Timeout;
  private trying?: Promise<void>;
  private readonly owner = `${hostname()}:${process.pid}:${randomBytes(4).toString("hex")}`;
  private readonly ttlMs: number;

  constructor(
    private readonly pool: Pool,
    private readonly log: Logger,
    private readonly retryMs = 1_000,
    private readonly role: FleetLockRole = MAINTENANCE,
  ) {
    this.ttlMs = 3 * retryMs;
  }

  /** This instance holds the role now. */
  get held(): boolean {
    return this.lease !== undefined;
  }

  /** The lease while held, for fenced writes (fenceLease). */
  get lease(): Lease | undefined {
    if (this.lease_ && performance.now() >= this.validUntil) this.drop("lease expired before it could be renewed");
    return this.lease_;
  }

  /** Tries once at once (a lone instance holds the lease from the start), then every retryMs. */
  async start(): Promise<void> {
    await this.tryTake();
    this.timer = setInterval(() => void this.tryTake(), this.retryMs);
    this.timer.unref();
  }

  /** Gives the lease up, so another instance takes over at its next try. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.trying;
    const lease = this.lease_;
    this.set(undefined);
    if (lease) await releaseLease(this.pool, lease).catch(() => undefined);
  }

  private tryTake(): Promise<void> {
    this.trying ??= this.take().finally(() => (this.trying = undefined));
    return this.trying;
  }

  private async take(): Promise<void> {
    const sent = performance.now();
    try {
      const held = this.lease;
      const lease = await takeOrRenewLease(this.pool, this.role.key, this.owner, this.ttlMs, held);
      if (lease) {
        // Counted from when the renewal was sent: the database's expiry is at least that late.
        this.validUntil = sent + this.ttlMs;
        if (!held)
          this.log.info({ lease: this.role.key, token: lease.token }, `${this.role.key} lease taken: this instance runs ${this.role.what}`);
        this.set(lease);
      } else if (held) {
        this.drop("taken over by another instance");
      }
    } catch (err) {
      // Not lost yet: the lease stays ours until validUntil, and the next try may renew it.
      if (this.lease_) this.log.warn({ lease: this.role.key, err: (err as Error).message }, `${this.role.key} lease renewal failed`);
    }
  }

  private drop(why: string): void {
    this.log.warn({ lease: this.role.key }, `${this.role.key} lease lost: ${why}`);
    this.set(undefined);
  }

  private set(lease: Lease | undefined): void {
    const changed = (lease === undefined) !== (this.lease_ === undefined);
    this.lease_ = lease;
    if (changed) this.role.onChange?.(lease !== undefined);
  }
}
