// Which version each send renders, read for all the sends that asked in one turn of the event
// loop with one statement (a SendBatch's 500 messages, or concurrent Sends), as the group commit
// does for the rows themselves. The statement is sent after every one of them asked, so each
// send still sees every save and delete committed before it arrived.
import type { Pool } from "../db/pool.js";
import { sendTargets, type SendTarget, type TargetKey } from "./store.js";

/** Keys per statement. */
const MAX_KEYS = 100;

interface Waiting {
  key: TargetKey;
  promise: Promise<SendTarget | undefined>;
  resolve(t: SendTarget | undefined): void;
  reject(err: unknown): void;
}

export class SendTargets {
  /** Asked in this turn, by key; sent at the next check phase. */
  private queued = new Map<string, Waiting>();

  constructor(private readonly pool: Pool) {}

  read(key: TargetKey): Promise<SendTarget | undefined> {
    const id = `${key.accountId}\0${key.name}\0${key.version ?? ""}`;
    const known = this.queued.get(id);
    if (known) return known.promise;
    if (this.queued.size === 0) setImmediate(() => this.flush());
    let resolve!: Waiting["resolve"];
    let reject!: Waiting["reject"];
    const promise = new Promise<SendTarget | undefined>((res, rej) => ((resolve = res), (reject = rej)));
    this.queued.set(id, { key, promise, resolve, reject });
    return promise;
  }

  private flush(): void {
    const batch = [...this.queued.values()];
    this.queued = new Map();
    for (let i = 0; i < batch.length; i += MAX_KEYS) {
      const part = batch.slice(i, i + MAX_KEYS);
      sendTargets(
        this.pool,
        part.map((w) => w.key),
      ).then(
        (found) => part.forEach((w, j) => w.resolve(found[j])),
        (err: unknown) => part.forEach((w) => w.reject(err)),
      );
    }
  }
}
