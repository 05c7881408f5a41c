// The outbox_request intake: takes the requests applications commit to the table and answers each
// exactly once (src/outbox/requests.ts), with Send's own checks (verdict.ts). The table has nothing
// to wait on (MariaDB has no LISTEN/NOTIFY), so every instance reads the pending index with one
// index-only point query: every idleMs while nothing came lately, every busyMs for busyForMs after
// something did, and batch after batch without a pause while a backlog lasts. Claims skip the rows
// another instance holds, so instances share the work without a lease.
import { Code } from "@connectrpc/connect";
import type { Config } from "../../config/config.js";
import type { Clock } from "../../db/clock.js";
import { consecutiveAutoIncrement, type Pool } from "../../db/pool.js";
import type { Logger } from "../../lib/log.js";
import type { RequestMetrics } from "../../metrics/metrics.js";
import { isDuplicateKey } from "../../outbox/enqueue.js";
import {
  hasPendingRequest,
  refuseRequest,
  RequestTakenElsewhereError,
  takeRequests,
  type Answer,
  type PendingRequest,
  type TakeLimits,
  type Verdict,
} from "../../outbox/requests.js";
import { clientError } from "../handlers/interceptors.js";
import { READ_MAX_BYTES } from "../rpc-gate.js";
import { judgeRequest } from "./verdict.js";
import type { CompiledTemplates } from "../../templates/compiled.js";

export interface IntakeLimits extends Omit<TakeLimits, "consecutiveIds"> {
  /** How often an instance looks for requests when none came within busyForMs. */
  idleMs: number;
  /** How often it looks within busyForMs of the last request it saw. */
  busyMs: number;
  busyForMs: number;
}

export const INTAKE_LIMITS: IntakeLimits = {
  idleMs: 50,
  busyMs: 10,
  busyForMs: 1_000,
  batch: 250,
  // Well inside MariaDB's default 16 MiB packet for the batch's multi-row INSERT.
  batchBytes: 4 * 1024 * 1024,
  maxRequestBytes: READ_MAX_BYTES,
};

/** The pause after a failed batch (the database away, say) before the next try. */
const FAILURE_PAUSE_MS = 1_000;
const METHOD = "outbox_request";

export interface IntakeOptions {
  pool: Pool;
  clock: Clock;
  log: Logger;
  /** Read for every batch, so a reload applies at once. */
  config: () => Config;
  metrics: RequestMetrics;
  /** The stored templates a request may name, as a Send may. */
  templates: CompiledTemplates;
  /** Outbox rows were committed: wake the sender and the watchers. */
  onCommit: () => void;
  limits?: Partial<IntakeLimits>;
}

export class RequestIntake {
  readonly limits: IntakeLimits;
  private running?: Promise<void>;
  private stopping = false;
  private wake?: () => void;
  private consecutiveIds = false;
  /** When a pending request was last seen (performance.now()). */
  private lastSeen = -Infinity;
  /**
   * After a batch failed, its requests are taken one at a time, so one that fails on its own for a
   * reason that is not the database's is found and refused instead of holding up the rest.
   */
  private carefulLeft = 0;

  constructor(private readonly o: IntakeOptions) {
    this.limits = { ...INTAKE_LIMITS, ...o.limits };
  }

  async start(): Promise<void> {
    this.consecutiveIds = await consecutiveAutoIncrement(this.o.pool);
    this.stopping = false;
    this.running = this.run();
  }

  /** Ends the loop after the batch under way (whose transaction commits or rolls back whole). */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.running;
  }

  /** Takes batches until no pending request is free; returns how many were answered. */
  async drain(): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await this.takeBatch();
      total += n;
      if (n === 0 || this.stopping) return total;
    }
  }

  private async run(): Promise<void> {
    let failing = false;
    while (!this.stopping) {
      const busy = performance.now() - this.lastSeen < this.limits.busyForMs;
      let pause = busy ? this.limits.busyMs : this.limits.idleMs;
      try {
        if (await hasPendingRequest(this.o.pool)) {
          this.lastSeen = performance.now();
          await this.drain();
        }
        if (failing) this.o.log.info("outbox requests are taken again");
        failing = false;
      } catch (err) {
        if (!failing) this.o.log.warn({ err: (err as Error).message }, "outbox requests could not be taken; trying again");
        failing = true;
        pause = FAILURE_PAUSE_MS;
      }
      if (!this.stopping) await this.sleep(pause);
    }
  }

  private async takeBatch(): Promise<number> {
    const config = this.o.config();
    const careful = this.carefulLeft > 0;
    const limits = { ...this.limits, batch: careful ? 1 : this.limits.batch, consecutiveIds: this.consecutiveIds };
    let claimed: number[] = [];
    try {
      const answers = await takeRequests(this.o.pool, this.o.clock, limits, (requests, now) => {
        claimed = requests.map((r) => r.id);
        this.o.log.debug({ requests: claimed.length, first_id: claimed[0], last_id: claimed.at(-1) }, "outbox requests claimed");
        return Promise.all(requests.map((r) => this.judge(r, config, now)));
      });
      if (careful && answers.length > 0) this.carefulLeft--;
      this.answered(answers);
      return answers.length;
    } catch (err) {
      if (!careful || claimed.length !== 1 || transient(this.o.log, err)) {
        if (!careful && claimed.length > 0) this.carefulLeft = claimed.length;
        throw err;
      }
      // It failed on its own, and not for the database's sake: Send would answer INTERNAL.
      this.carefulLeft--;
      const refusal = { reason: "INTERNAL", message: "internal error" };
      if (await refuseRequest(this.o.pool, claimed[0]!, refusal)) this.answered([{ id: claimed[0]!, refusal }]);
      return 1;
    }
  }

  private async judge(req: PendingRequest, config: Config, now: number): Promise<Verdict> {
    try {
      return await judgeRequest(
        req,
        { config: () => config, clock: { now: () => now }, templates: this.o.templates },
        this.limits.maxRequestBytes,
      );
    } catch (err) {
      clientError(this.o.log, err, METHOD);
      return { refusal: { reason: "INTERNAL", message: "internal error" } };
    }
  }

  private answered(answers: Answer[]): void {
    if (answers.length === 0) return;
    const refused = answers.flatMap((a) => ("refusal" in a ? [a.refusal.reason] : []));
    this.o.metrics.requestsAnswered(answers.length - refused.length, refused);
    if (answers.some((a) => "outboxId" in a && !a.replay)) this.o.onCommit();
    this.o.log.debug(
      { requests: answers.length, refused: refused.length, first_id: answers[0]!.id, last_id: answers.at(-1)!.id },
      "outbox requests answered",
    );
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }
}

const ER_LOCK_DEADLOCK = 1213;

/** A failure the next try may not meet: the database away or busy, or a race another writer won. */
function transient(log: Logger, err: unknown): boolean {
  if (isDuplicateKey(err) || err instanceof RequestTakenElsewhereError || (err as { errno?: number }).errno === ER_LOCK_DEADLOCK)
    return true;
  return clientError(log, err, METHOD).code === Code.Unavailable;
}
