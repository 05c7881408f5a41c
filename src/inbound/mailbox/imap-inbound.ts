// Inbound mail from the accounts' IMAP mailboxes. Every instance with an account's `imap` config
// tries for that account's fleet lease (FleetLock "imap_{id}"); the one that holds it keeps a
// connection per configured mailbox (imap-mailbox.ts). When the holder stops, it gives the lease
// up; when it dies, another instance takes over once the lease expires.
import type { AccountConfig, Config } from "../../config/config.js";
import { FleetLock } from "../../db/fleet-lock.js";
import { fenceOf } from "../../db/fleet-lease.js";
import { ImapMailbox, type ImapMailboxDeps } from "./imap-mailbox.js";

export interface ImapInboundDeps extends ImapMailboxDeps {
  /** How often the holder renews its lease and an instance without it tries for it. */
  lockRetryMs?: number;
}

/** One account: its lock, and its mailboxes while the lock is held. */
class AccountInbound {
  private readonly lock: FleetLock;
  private mailboxes: ImapMailbox[] = [];
  private closing: Promise<unknown> = Promise.resolve();

  constructor(
    readonly account: AccountConfig,
    private readonly deps: ImapInboundDeps,
  ) {
    this.lock = new FleetLock(deps.pool, deps.log, deps.lockRetryMs, {
      key: `imap_${account.id}`,
      what: `account ${account.id}'s IMAP ingest`,
      onChange: (held) => (held ? this.open() : this.close()),
    });
  }

  get held(): boolean {
    return this.lock.held;
  }

  start(): Promise<void> {
    return this.lock.start();
  }

  /** Mailboxes close before the lock is given up, so the next holder never overlaps this one. */
  async stop(): Promise<void> {
    this.close();
    await this.closing;
    await this.lock.stop();
  }

  private open(): void {
    const imap = this.account.imap!;
    const previous = this.closing;
    const fence = fenceOf(`imap_${this.account.id}`, () => this.lock.lease);
    this.mailboxes = imap.mailboxes.map((name) => new ImapMailbox(this.account, name, this.deps, fence));
    const opened = this.mailboxes;
    // Connections of a lock held before are closed first: one connection per mailbox at a time.
    void previous.then(() => {
      for (const m of opened) m.start();
    });
  }

  private close(): void {
    const closed = this.mailboxes;
    this.mailboxes = [];
    this.closing = Promise.all([this.closing, ...closed.map((m) => m.stop())]);
  }
}

export class ImapInbound {
  private readonly accounts = new Map<number, AccountInbound>();
  private readonly keys = new Map<number, string>();
  /** Configs are applied one after another; this settles when the last queued one has. */
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly deps: ImapInboundDeps) {}

  /** This instance ingests the account's mailbox now. */
  holds(accountId: number): boolean {
    return this.accounts.get(accountId)?.held ?? false;
  }

  /** Rejects if the config cannot be applied, having stopped whatever it had started. */
  async start(config: Config): Promise<void> {
    try {
      await this.enqueue(config);
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  /**
   * Follows a new config: accounts whose `imap` changed start over (their lock is given up and
   * taken again), removed ones stop, the others go on undisturbed. Never rejects: a config that
   * cannot be applied is logged, and the next one is applied all the same.
   */
  reconfigure(config: Config): Promise<void> {
    return this.enqueue(config).catch((err: unknown) => {
      this.deps.log.error({ err: (err as Error).message }, "imap ingest could not follow the config");
    });
  }

  /** Applies `config` after those queued before it, whether they succeeded or not. */
  private enqueue(config: Config): Promise<void> {
    const applied = this.queue.then(() => this.apply(config));
    this.queue = applied.catch(() => undefined);
    return applied;
  }

  private async apply(config: Config): Promise<void> {
    const work: Promise<void>[] = [];
    for (const [id, running] of this.accounts) {
      const account = config.accounts.get(id);
      if (account?.imap && JSON.stringify(account.imap) === this.keys.get(id)) continue;
      this.accounts.delete(id);
      this.keys.delete(id);
      work.push(running.stop());
    }
    await Promise.all(work);
    for (const account of config.accounts.values()) {
      if (!account.imap || this.accounts.has(account.id)) continue;
      const key = JSON.stringify(account.imap);
      const inbound = new AccountInbound(account, this.deps);
      this.accounts.set(account.id, inbound);
      await inbound.start();
      // Only an account that started has its key: one whose start failed starts over next time.
      this.keys.set(account.id, key);
    }
  }

  async stop(): Promise<void> {
    await this.queue;
    const all = [...this.accounts.values()];
    this.accounts.clear();
    this.keys.clear();
    await Promise.all(all.map((a) => a.stop()));
  }
}
