// One consumer of live events: a bounded buffer the tailer pushes into and a stream pulls from.
// A consumer that falls more than `capacity` events behind is cut off instead of growing memory;
// what it took out and its client has not received yet counts as behind too.
import type { EventRow } from "../../outbox/types.js";

export interface EventFilter {
  outboxIds?: ReadonlySet<number>;
  /** Accounts to include; undefined means all. */
  accountIds?: ReadonlySet<number>;
  statuses?: ReadonlySet<string>;
  /** Tags the row must carry, each with exactly this value; undefined means any. */
  tags?: readonly [string, string][];
}

export function matches(filter: EventFilter, e: Pick<EventRow, "outboxId" | "accountId" | "status" | "tags">): boolean {
  return (
    (!filter.outboxIds || filter.outboxIds.has(e.outboxId)) &&
    (!filter.accountIds || filter.accountIds.has(e.accountId)) &&
    (!filter.statuses || filter.statuses.has(e.status)) &&
    (!filter.tags || filter.tags.every(([name, value]) => Object.hasOwn(e.tags, name) && e.tags[name] === value))
  );
}

export type EndReason = "overflow" | "shutdown";

export class Subscription {
  private buffer: EventRow[] = [];
  private wakeup?: () => void;
  ended?: EndReason;
  /** Events the consumer took that its client has not received yet (set by the consumer). */
  held: () => number = () => 0;
  /** Told once when it ends, also while the consumer is busy elsewhere and not waiting in take(). */
  onEnd?: (reason: EndReason) => void;
  /**
   * Events up to this id are not buffered (set by the consumer): it has them from the table
   * already, so they must not count towards its capacity either.
   */
  floor = 0;

  constructor(
    readonly filter: EventFilter,
    private readonly capacity: number,
    private readonly detach: (sub: Subscription) => void,
  ) {}

  /** Called by the tailer for every new event, in id order. */
  offer(event: EventRow): void {
    if (this.ended || event.id <= this.floor || !matches(this.filter, event)) return;
    if (this.buffer.length + this.held() >= this.capacity) {
      this.end("overflow");
      return;
    }
    this.buffer.push(event);
    this.wake();
  }

  /**
   * Stops delivery and detaches from the tailer at once. An overflow drops the buffer (the stream
   * resumes from the table); a shutdown keeps it, so the stream can still hand it out.
   */
  end(reason: EndReason): void {
    if (this.ended) return;
    this.ended = reason;
    if (reason === "overflow") this.buffer = [];
    this.detach(this);
    this.wake();
    this.onEnd?.(reason);
  }

  /** Takes every buffered event; waits (until `signal` or timeoutMs) when there is none. */
  async take(timeoutMs: number, signal?: AbortSignal): Promise<EventRow[]> {
    if (this.buffer.length === 0 && !this.ended && !signal?.aborted) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, timeoutMs);
        const onAbort = () => done();
        signal?.addEventListener("abort", onAbort, { once: true });
        this.wakeup = done;
        function done() {
          clearTimeout(timer);
          signal?.removeEventListener("abort", onAbort);
          resolve();
        }
      });
      this.wakeup = undefined;
    }
    const events = this.buffer;
    this.buffer = [];
    return events;
  }

  get buffered(): number {
    return this.buffer.length;
  }

  /** The consumer is done; frees everything. */
  close(): void {
    this.end("shutdown");
  }

  private wake(): void {
    const w = this.wakeup;
    this.wakeup = undefined;
    w?.();
  }
}
