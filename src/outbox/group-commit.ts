// Group commit: Send, Reply and SendBatch calls on this instance share transactions. A call that
// arrives while a commit is under way joins the next one; each call is answered only once its own
// transaction committed. One bad row (a reused idempotency key) fails only its own call.
import type { Clock } from "../db/clock.js";
import { Drain } from "../lib/drain.js";
import { inTransactionEndingWith, type Pool } from "../db/pool.js";
import {
  enqueue,
  stageMessages,
  isDuplicateKey,
  newRow,
  replayOf,
  rowsWithKeys,
  type EnqueueResult,
  type HandoffLease,
} from "./enqueue.js";
import type { ClaimedMessage, NewMessage } from "./types.js";
import { markSuppressed } from "./suppressed-recipients.js";
import { supersededInBatch } from "./supersede.js";

/** The local sender's side of the hand-off: rows it takes are committed already leased to it. */
export interface Handoff {
  /** Which of these messages the sender takes now (`take[i]`), under which lease; undefined: none. */
  reserve(msgs: readonly NewMessage[], now: number): { lease: HandoffLease; take: boolean[] } | undefined;
  /** The rows are committed leased to the sender: start them. */
  start(lease: HandoffLease, claims: ClaimedMessage[]): void;
  /** The transaction did not commit: the reserved slots are free again. */
  cancel(lease: HandoffLease, count: number): void;
}

export interface GroupCommitOptions {
  /** Multi-row INSERTs get consecutive ids (innodb_autoinc_lock_mode 0 or 1). */
  consecutiveIds: boolean;
  /**
   * Called after every commit (to wake the event tailer), and told whether rows due now were
   * left in the queue (to wake the sender: rows it took already started).
   */
  onCommit: (dueLeft: boolean) => void;
  handoff?: Handoff;
  /**
   * The message's bytes, composed when it is accepted and stored with its row (undefined: the
   * attempt composes it). Not given a message with attachments.
   */
  compose?: (m: NewMessage) => Buffer | undefined;
}

interface Waiting {
  msg: NewMessage;
  resolve: (r: EnqueueResult) => void;
  reject: (err: unknown) => void;
}

/** Rows per transaction; a SendBatch of the maximum size commits at once. */
export const MAX_BATCH_ROWS = 500;
/**
 * Characters of content per transaction. A character is at most 3 bytes of utf8mb4 in the BMP
 * and escaping can double it, so a batch stays well inside MariaDB's default 16 MiB packet; a
 * larger message commits alone.
 */
const MAX_BATCH_CHARS = 2 * 1024 * 1024;

export class GroupCommit {
  private queue: Waiting[] = [];
  // Calls made in the same tick (a SendBatch, say) join the first transaction.
  private readonly drain = new Drain(
    () => this.queue.length > 0,
    () => this.commit(this.nextBatch()),
  );

  constructor(
    private readonly pool: Pool,
    private readonly clock: Clock,
    private readonly opts: GroupCommitOptions,
  ) {}

  /** Resolves once the message is committed (or an earlier row holds its idempotency key). */
  submit(msg: NewMessage): Promise<EnqueueResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ msg, resolve, reject });
      this.drain.kick();
    });
  }

  /**
   * The oldest waiting calls, up to the size limits; a later call with an idempotency key already
   * in the batch waits for the next one (where it is answered as a replay).
   */
  private nextBatch(): Waiting[] {
    const batch: Waiting[] = [];
    const rest: Waiting[] = [];
    const keys = new Set<string>();
    let chars = 0;
    for (const w of this.queue) {
      const size = contentChars(w.msg);
      const key = w.msg.idempotencyKey === undefined ? undefined : `${w.msg.accountId}\u0000${w.msg.idempotencyKey}`;
      const full = batch.length >= MAX_BATCH_ROWS || (batch.length > 0 && chars + size > MAX_BATCH_CHARS);
      if (full || (key !== undefined && keys.has(key))) {
        rest.push(w);
        continue;
      }
      if (key !== undefined) keys.add(key);
      chars += size;
      batch.push(w);
    }
    this.queue = rest;
    return batch;
  }

  private async commit(batch: Waiting[]): Promise<void> {
    // Three things at once: the suppression read (one query for the whole batch; a recipient
    // suppressed later is still sent to), the transaction's START on another connection (the
    // driver writes both on the next tick), and composing the bytes meanwhile.
    const marking = markSuppressed(
      this.pool,
      batch.map((w) => w.msg),
    );
    // Its failure is taken where it is awaited, not as an unhandled rejection meanwhile.
    marking.catch(() => undefined);
    const composing = new Promise<(Buffer | undefined)[]>((resolve) => setImmediate(() => resolve(batch.map((w) => this.compose(w.msg)))));
    // The batch's messages as the read marked them. Bytes composed with a recipient now found
    // suppressed are dropped: the attempt composes them without it.
    const marked = async () => {
      const [list, composed] = await Promise.all([marking, composing]);
      const msgs = list.map((m, i) => (m.suppressed ? m : { ...m, mime: composed[i] }));
      for (const [i, w] of batch.entries()) w.msg = msgs[i]!;
      return msgs;
    };
    const now = this.clock.now();
    const handoff = this.opts.handoff;
    let msgs: NewMessage[] | undefined;
    let reserved: ReturnType<GroupCommit["reserve"]>;
    try {
      // The events and the COMMIT go in one round trip: the hand-off's first SMTP byte waits for it.
      const committed = await inTransactionEndingWith(this.pool, async (conn) => {
        if (!msgs) {
          msgs = await marked();
          reserved = this.reserve(msgs, now);
        }
        return stageMessages(conn, msgs, now, { take: reserved?.take, lease: reserved?.lease, consecutiveIds: this.opts.consecutiveIds });
      });
      const claims = committed.flatMap((c) => (c.claim ? [c.claim] : []));
      if (reserved) handoff!.start(reserved.lease, claims);
      this.opts.onCommit(committed.some((c) => !c.claim && c.due <= now));
      for (const [i, w] of batch.entries()) {
        const c = committed[i]!;
        w.resolve({ row: c.claim ?? newRow(c.id, w.msg, c.due, now, c.supersededBy), replay: false });
      }
    } catch (err) {
      if (reserved) handoff!.cancel(reserved.lease, reserved.take.filter(Boolean).length);
      // The messages go on only as the suppression read marked them.
      if (!msgs) {
        try {
          msgs = await marked();
        } catch (readErr) {
          for (const w of batch) w.reject(readErr);
          return;
        }
      }
      await this.recover(batch, err);
    }
  }

  /** The message's stored bytes, if it is to have them; a failure here leaves the composing to the attempt. */
  private compose(msg: NewMessage): Buffer | undefined {
    if (!this.opts.compose || msg.attachments?.length) return undefined;
    try {
      return this.opts.compose(msg);
    } catch {
      return undefined;
    }
  }

  /** The hand-off's slots for this batch; a message a later one of it supersedes is never taken. */
  private reserve(msgs: NewMessage[], now: number): { lease: HandoffLease; take: boolean[] } | undefined {
    const superseded = supersededInBatch(msgs);
    if (!superseded.includes(true)) return this.opts.handoff?.reserve(msgs, now);
    const live = msgs.flatMap((_m, i) => (superseded[i] ? [] : [i]));
    const reserved = this.opts.handoff?.reserve(
      live.map((i) => msgs[i]!),
      now,
    );
    if (!reserved) return undefined;
    const take = msgs.map(() => false);
    live.forEach((i, j) => (take[i] = reserved.take[j]!));
    return { lease: reserved.lease, take };
  }

  /**
   * A batch that failed as a whole. Calls whose idempotency key a committed row already holds
   * are answered from that row and the rest try again in the next batch; any other failure is
   * tried once more call by call, so it fails only the call it belongs to.
   */
  private async recover(batch: Waiting[], err: unknown): Promise<void> {
    if (isDuplicateKey(err)) {
      const existing = await rowsWithKeys(
        this.pool,
        batch.map((w) => w.msg),
      ).catch(() => []);
      // The column holds bytes: its value comes back as a Buffer.
      const byKey = new Map(existing.map((r) => [`${r.account_id}\u0000${r.idempotency_key?.toString()}`, r]));
      const again: Waiting[] = [];
      for (const w of batch) {
        const row = byKey.get(`${w.msg.accountId}\u0000${w.msg.idempotencyKey}`);
        if (!row) again.push(w);
        else settle(w, () => replayOf(w.msg, row));
      }
      if (again.length < batch.length) {
        this.queue.unshift(...again);
        return;
      }
    }
    if (batch.length === 1) return batch[0]!.reject(err);
    await Promise.all(
      batch.map(async (w) => {
        try {
          w.resolve(await enqueue(this.pool, w.msg, this.clock.now()));
          this.opts.onCommit(true);
        } catch (e) {
          w.reject(e);
        }
      }),
    );
  }
}

function settle(w: Waiting, result: () => EnqueueResult): void {
  try {
    w.resolve(result());
  } catch (err) {
    w.reject(err);
  }
}

function contentChars(m: NewMessage): number {
  let n = m.subject.length + m.bodyText.length + (m.bodyHtml?.length ?? 0) + (m.references?.length ?? 0) + 1_000;
  for (const a of [...m.to, ...m.cc, ...m.bcc]) n += a.length;
  for (const f of m.attachments ?? []) n += f.content.length;
  // Bytes go into the INSERT hex-escaped.
  n += 2 * (m.mime?.length ?? 0);
  for (const [name, value] of m.headers ?? []) n += name.length + value.length;
  for (const map of [m.tags, m.metadata]) for (const [k, v] of Object.entries(map ?? {})) n += k.length + v.length;
  return n;
}
