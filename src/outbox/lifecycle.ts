// The outbox state machine: every way a row changes status, in one table. The SQL that moves
// rows takes its statuses and event kinds from here, and the README's state section and the
// proto's OutboxStatus comment are checked against `stateDiagram()` by a test, so code and docs
// cannot drift apart.
import { EventKind, type OutboxStatus } from "./types.js";

export interface Transition {
  /** What moves the row, as the diagram labels the arrow. */
  by: string;
  /** Statuses it leaves; empty for a row that does not exist yet. */
  from: readonly OutboxStatus[];
  /** Statuses it enters; two when it depends on the row (see requeuedStatus). */
  to: readonly OutboxStatus[];
  /** The event appended in the same transaction. */
  event: keyof typeof EventKind;
  /** `retries` grows by one: the attempt counts toward sender.max_attempts. */
  countsAttempt: boolean;
  /** The next attempt carries the next Message-ID (`<outbox-{id}-{n}@…>` with n = retries). */
  newMessageId: "yes" | "no" | "unless the outcome is unknown";
}

const QUEUED: readonly OutboxStatus[] = ["pending", "failed"];

export const TRANSITIONS = {
  send: { by: "Send", from: [], to: ["pending"], event: "created", countsAttempt: false, newMessageId: "no" },
  suppress: {
    by: "Send, every recipient suppressed",
    from: [],
    to: ["suppressed"],
    event: "suppressed",
    countsAttempt: false,
    newMessageId: "no",
  },
  schedule: { by: "Send with send_at", from: [], to: ["pending"], event: "scheduled", countsAttempt: false, newMessageId: "no" },
  handOff: {
    by: "hand-off: committed leased to the local sender",
    from: ["pending"],
    to: ["sending"],
    event: "sending",
    countsAttempt: false,
    newMessageId: "no",
  },
  claim: { by: "claim when due", from: QUEUED, to: ["sending"], event: "sending", countsAttempt: false, newMessageId: "no" },
  retry: {
    by: "RetryOutbox",
    from: ["pending", "failed", "dead"],
    to: ["sending"],
    event: "retried",
    countsAttempt: false,
    newMessageId: "no",
  },
  accepted: { by: "accepted", from: ["sending"], to: ["sent"], event: "sent", countsAttempt: false, newMessageId: "no" },
  transient: {
    by: "4xx, network, timeout",
    from: ["sending"],
    to: ["failed"],
    event: "failed",
    countsAttempt: true,
    newMessageId: "unless the outcome is unknown",
  },
  permanent: {
    by: "5xx, attachment gone, or max_attempts reached",
    from: ["sending"],
    to: ["dead"],
    event: "dead",
    countsAttempt: true,
    newMessageId: "unless the outcome is unknown",
  },
  failover: {
    by: "the relay's own failure, another relay left",
    from: ["sending"],
    to: QUEUED,
    event: "relayFailed",
    countsAttempt: false,
    newMessageId: "no",
  },
  cancel: { by: "CancelOutbox", from: QUEUED, to: ["cancelled"], event: "cancelled", countsAttempt: false, newMessageId: "no" },
  rescue: { by: "lease expired", from: ["sending"], to: QUEUED, event: "leaseRescued", countsAttempt: false, newMessageId: "no" },
  release: { by: "handed back unstarted", from: ["sending"], to: QUEUED, event: "released", countsAttempt: false, newMessageId: "no" },
  rescueLimit: {
    by: "lease expired sender.max_rescues times in a row (RESCUE_LIMIT)",
    from: ["sending"],
    to: ["dead"],
    event: "dead",
    countsAttempt: false,
    newMessageId: "no",
  },
  expire: {
    by: "expire_at passed, found by a claim",
    from: QUEUED,
    to: ["expired"],
    event: "expired",
    countsAttempt: false,
    newMessageId: "no",
  },
  supersede: {
    by: "a newer message with the same collapse_key (SUPERSEDED)",
    from: QUEUED,
    to: ["cancelled"],
    event: "cancelled",
    countsAttempt: false,
    newMessageId: "no",
  },
} as const satisfies Record<string, Transition>;

export type TransitionName = keyof typeof TRANSITIONS;

/**
 * Events that change no status: what a bounce or complaint report said about one recipient of
 * the row (its status stays as it was, SENT as a rule).
 */
export const RECIPIENT_EVENTS = { bounced: "recipientBounced", delayed: "recipientDelayed", complained: "recipientComplained" } as const;

/** Rows no sender takes again on its own (DEAD only through RetryOutbox): what retention deletes. */
export const FINISHED: readonly OutboxStatus[] = ["sent", "cancelled", "dead", "suppressed", "expired"];

/** Whether a row in `status` may take this transition (the guard of the RPCs). */
export function allows(name: TransitionName, status: OutboxStatus): boolean {
  return (TRANSITIONS[name].from as readonly OutboxStatus[]).includes(status);
}

/** `status IN ('…', …)` over the statuses a transition leaves, for the WHERE that fences it. */
export function fromSql(name: TransitionName): string {
  return `status IN (${TRANSITIONS[name].from.map((s) => `'${s}'`).join(", ")})`;
}

/** The single status a transition enters, as a SQL literal. */
export function toSql(name: TransitionName): string {
  const [to, ...more] = TRANSITIONS[name].to;
  if (!to || more.length > 0) throw new Error(`${name} enters ${TRANSITIONS[name].to.length} statuses`);
  return `'${to}'`;
}

export function eventOf(name: TransitionName): EventKind {
  return EventKind[TRANSITIONS[name].event];
}

/**
 * Where a row goes back to the queue without an attempt (rescue, release): PENDING while no
 * attempt has failed, FAILED after one has. A row RetryOutbox took from DEAD and whose lease then
 * expired is FAILED and retries on its own, like any failed row.
 */
export function requeuedStatus(retries: number): OutboxStatus {
  return retries === 0 ? "pending" : "failed";
}

/** requeuedStatus in SQL, over the row's own `retries`. */
export const REQUEUED_STATUS_SQL = "IF(retries = 0, 'pending', 'failed')";

/** The diagram the README and the proto show, one arrow per transition. */
export function stateDiagram(): string[] {
  const names = (list: readonly string[]) => (list.length === 0 ? "(new)" : list.map((s) => s.toUpperCase()).join("/"));
  return Object.values(TRANSITIONS).map((t: Transition) => {
    const notes = [
      t.countsAttempt ? "attempt counts" : "",
      t.newMessageId === "no" ? "" : t.newMessageId === "yes" ? "next Message-ID" : "next Message-ID unless the outcome is unknown",
    ].filter(Boolean);
    const event = t.event.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase();
    return `${names(t.from)} --${t.by}--> ${names(t.to)} [${[event, ...notes].join("; ")}]`;
  });
}
