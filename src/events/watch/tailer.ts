// One tailer per process reads new events in id order and feeds every subscription. Commits on
// this instance call notify() so local watchers see them at once; other instances' commits are
// found by polling.
import { Poller } from "../../lib/poller.js";
import type { Logger } from "../../lib/log.js";
import type { Pool } from "../../db/pool.js";
import { lastEventId, readEventsAfter } from "../../outbox/events.js";
import { Subscription, type EventFilter } from "./subscription.js";

const PAGE = 1000;

export class EventTailer {
  private readonly subs = new Set<Subscription>();
  private position = 0;
  private readonly reads = new Poller(() => this.poll());

  constructor(
    private readonly pool: Pool,
    private readonly log: Logger,
    private readonly pollIntervalMs: number,
    private readonly capacity: number,
  ) {}

  async start(): Promise<void> {
    this.position = await lastEventId(this.pool);
    this.reads.start(this.pollIntervalMs);
  }

  /** The id of the newest event handed to subscribers; every later event will be. */
  get lastId(): number {
    return this.position;
  }

  get subscriberCount(): number {
    return this.subs.size;
  }

  /** Events held for subscribers: buffered, or taken and not yet received by their clients. */
  get heldEvents(): number {
    let n = 0;
    for (const sub of this.subs) n += sub.buffered + sub.held();
    return n;
  }

  /** Something was committed: read new events now, if anyone is listening. */
  notify(): void {
    if (this.subs.size > 0) this.reads.wake();
  }

  /**
   * Subscribes to events after lastId. Subscribing and reading lastId happen in one synchronous
   * step, and a page of events is dispatched in one synchronous step too, so nothing falls between.
   */
  subscribe(filter: EventFilter): { sub: Subscription; from: number } {
    const sub = new Subscription(filter, this.capacity, (s) => this.subs.delete(s));
    // A stream arriving while the server stops ends at once (UNAVAILABLE) instead of hanging.
    if (this.reads.stopped) sub.end("shutdown");
    else this.subs.add(sub);
    return { sub, from: this.position };
  }

  private async poll(): Promise<void> {
    try {
      if (this.subs.size === 0) {
        // Nobody to deliver to: keep the position current with one primary-key read instead of
        // reading every event. Jump only if still nobody subscribed meanwhile (from the old position).
        const newest = await lastEventId(this.pool);
        if (this.subs.size === 0) {
          this.position = Math.max(this.position, newest);
          return;
        }
      }
      for (;;) {
        const events = await readEventsAfter(this.pool, this.position, PAGE);
        for (const event of events) for (const sub of this.subs) sub.offer(event);
        if (events.length > 0) this.position = events[events.length - 1]!.id;
        if (events.length < PAGE) break;
      }
    } catch (err) {
      this.log.error({ err: (err as Error).message }, "event tail read failed");
    }
  }

  /** Ends every stream (they report UNAVAILABLE so clients resume elsewhere). */
  async stop(): Promise<void> {
    await this.reads.stop();
    for (const sub of [...this.subs]) sub.close();
  }
}
