// One watched IMAP mailbox: connect, ingest every message above the stored UID one at a time, then
// wait (IDLE where the server offers it, NOOP polling otherwise) and catch up again. Any failure
// closes the connection and reconnects with backoff. The UID is stored after each message, so a
// restart or a cut connection resumes after the last stored one; a message stored but not yet
// counted is found again by its Message-ID and not stored twice.
import { ImapFlow } from "imapflow";
import type { Clock } from "../../db/clock.js";
import type { AccountConfig, ImapConfig } from "../../config/config.js";
import type { Logger } from "../../lib/log.js";
import type { BounceMetrics, ImapMetrics } from "../../metrics/metrics.js";
import type { Pool } from "../../db/pool.js";
import type { Fence } from "../../db/fleet-lease.js";
import { readMailboxState, saveMailboxState, type MailboxState } from "../../outbox/imap-state.js";
import { IngestError, MAX_RAW_BYTES } from "./ingest.js";
import { receiveMessage } from "./receive.js";
import { cleanRemoteText, secretForms } from "../../delivery/remote-text.js";

export interface ImapMailboxDeps {
  pool: Pool;
  clock: Clock;
  log: Logger;
  metrics: ImapMetrics & BounceMetrics;
  /** The domain of our Message-IDs, by which bounce reports find their rows. */
  messageIdDomain: () => string;
}

/** Catch up at least this often even without a word from the server (also restarts IDLE). */
const RECHECK_MS = 30_000;
/** Sizes are asked for this many UIDs at a time. */
const SIZE_BATCH = 200;
const MAX_RECONNECT_MS = 60_000;

export class ImapMailbox {
  private stopped = false;
  private client?: ImapFlow;
  private running?: Promise<void>;
  private kicked = false;
  private wake?: () => void;

  private readonly accountId: number;
  private readonly imap: ImapConfig;

  constructor(
    private readonly account: AccountConfig,
    private readonly mailbox: string,
    private readonly deps: ImapMailboxDeps,
    /** The account's ingest lease: every store and UID write is fenced by it. */
    private readonly fence?: Fence,
  ) {
    this.accountId = account.id;
    this.imap = account.imap!;
  }

  start(): void {
    // run() handles the connection's failures itself; anything else is logged, never left unhandled.
    this.running ??= this.run().catch((err: unknown) => {
      this.deps.log.error(
        { account_id: this.accountId, mailbox: this.mailbox, err: describe(err, this.imap) },
        "imap mailbox stopped on an unexpected error",
      );
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.kick();
    this.client?.close();
    await this.running;
  }

  private async run(): Promise<void> {
    const where = { account_id: this.accountId, mailbox: this.mailbox };
    let failures = 0;
    while (!this.stopped) {
      const client = this.connection();
      this.client = client;
      try {
        await client.connect();
        await client.mailboxOpen(this.mailbox, { readOnly: true });
        this.deps.metrics.imapConnected(this.accountId, this.mailbox, true);
        this.deps.log.info(where, "imap mailbox open");
        while (!this.stopped && client.usable) {
          await this.catchUp(client);
          failures = 0;
          // Ends when the next command breaks it or the connection closes.
          void client.idle().catch(() => undefined);
          await this.waitForKick(RECHECK_MS);
        }
        if (!this.stopped) throw new Error("connection closed");
      } catch (err) {
        if (!this.stopped)
          this.deps.log.warn({ ...where, err: describe(err, this.imap), failures: failures + 1 }, "imap mailbox failed; reconnecting");
      } finally {
        this.client = undefined;
        this.deps.metrics.imapConnected(this.accountId, this.mailbox, false);
        client.close();
      }
      if (!this.stopped) await this.waitForKick(Math.min(MAX_RECONNECT_MS, 1_000 * 2 ** failures++), true);
    }
  }

  private connection(): ImapFlow {
    const { host, port, tls, auth, rejectUnauthorized } = this.imap;
    const client = new ImapFlow({
      host,
      port,
      secure: tls === "implicit",
      doSTARTTLS: tls === "starttls" ? true : tls === "none" ? false : undefined,
      tls: { rejectUnauthorized },
      auth: auth.kind === "password" ? { user: auth.user, pass: auth.password } : { user: auth.user, accessToken: auth.accessToken },
      logger: false,
      disableAutoIdle: true,
      // IDLE-less servers are polled with NOOP this often.
      maxIdleTime: RECHECK_MS,
      connectionTimeout: 15_000,
      greetingTimeout: 15_000,
      // Memory stays bounded even if the server sends more than the size it announced.
      maxLiteralSize: MAX_RAW_BYTES,
      maxResponseSize: MAX_RAW_BYTES + 1024 * 1024,
    });
    // News from a connection already given up on must not cut the backoff short.
    const news = () => {
      if (this.client === client) this.kick();
    };
    client.on("exists", news);
    client.on("close", news);
    client.on("error", news);
    return client;
  }

  /** Ingests every message above the stored UID, oldest first, storing the UID after each. */
  private async catchUp(client: ImapFlow): Promise<void> {
    const box = client.mailbox;
    if (!box) throw new Error("mailbox not selected");
    const { pool, clock, log } = this.deps;
    let state: MailboxState | undefined = await readMailboxState(pool, this.accountId, this.mailbox);
    if (state?.uidValidity !== box.uidValidity) {
      if (state)
        log.warn(
          { account_id: this.accountId, mailbox: this.mailbox },
          "imap UIDVALIDITY changed: ingesting the mailbox again (stored messages are not stored twice)",
        );
      state = { uidValidity: box.uidValidity, lastUid: 0 };
      await saveMailboxState(pool, this.accountId, this.mailbox, state, clock.now(), this.fence);
    }
    const after = state.lastUid;
    // "n:*" also matches the highest UID when it is below n.
    const uids = ((await client.search({ uid: `${after + 1}:*` }, { uid: true })) || []).filter((uid) => uid > after).sort((a, b) => a - b);
    for (let i = 0; i < uids.length && !this.stopped; i += SIZE_BATCH) {
      const batch = uids.slice(i, i + SIZE_BATCH);
      const sizes = new Map((await client.fetchAll(batch.join(","), { uid: true, size: true }, { uid: true })).map((m) => [m.uid, m.size]));
      for (const uid of batch) {
        if (this.stopped) return;
        await this.ingest(client, uid, sizes.get(uid));
        await saveMailboxState(pool, this.accountId, this.mailbox, { uidValidity: box.uidValidity, lastUid: uid }, clock.now(), this.fence);
      }
    }
  }

  /** One message, fetched whole only when ingest could take it. Database errors propagate. */
  private async ingest(client: ImapFlow, uid: number, size: number | undefined): Promise<void> {
    const { pool, clock, log, metrics } = this.deps;
    const where = { account_id: this.accountId, mailbox: this.mailbox, uid };
    if (size === undefined) return; // expunged since the search
    if (size > MAX_RAW_BYTES) {
      log.warn({ ...where, size, max: MAX_RAW_BYTES }, "imap message too large to ingest: skipped");
      metrics.imapMessage(this.accountId, "too_large");
      return;
    }
    const fetched = await client.fetchOne(String(uid), { source: true }, { uid: true });
    // biome-ignore lint/complexity/useOptionalChain: fetched is `false | message`; `?.` does not narrow it.
    if (!fetched || !fetched.source) return;
    try {
      // As IngestMessage stores it: a bounce or complaint report is applied to its row too.
      const { created } = await receiveMessage(
        pool,
        this.account,
        this.deps.messageIdDomain(),
        fetched.source,
        clock.now(),
        { metrics, log },
        this.fence,
      );
      metrics.imapMessage(this.accountId, created ? "ingested" : "duplicate");
    } catch (err) {
      if (!(err instanceof IngestError)) throw err;
      log.warn({ ...where, reason: err.reason }, "imap message cannot be ingested: skipped");
      metrics.imapMessage(this.accountId, err.reason === "MESSAGE_INVALID" ? "invalid" : "too_large");
    }
  }

  private kick(): void {
    this.kicked = true;
    this.wake?.();
  }

  /** Waits for news from the server (or stop), at most `ms`; `fresh` ignores news from before. */
  private async waitForKick(ms: number, fresh = false): Promise<void> {
    if (fresh) this.kicked = false;
    if (!this.kicked && !this.stopped) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    this.wake = undefined;
    this.kicked = false;
  }
}

/** An error for a log line: the message and the server's reply text, never the credentials it may echo. */
function describe(err: unknown, imap: ImapConfig): string {
  const e = err as { message?: string; responseText?: string; code?: string };
  return cleanRemoteText([e.code, e.message, e.responseText].filter(Boolean).join(": "), secretForms(imap.auth)).slice(0, 300);
}
