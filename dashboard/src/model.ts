// What the page knows about each outbox row, built from WatchOutbox events (the truth about
// state) and ListOutbox/GetOutbox rows (the subject and recipients, which never change).
// No DOM here, so it is easy to reason about and to test.
import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import { OutboxEventKind, type OutboxEvent } from "../../gen/email/v1/email_service_pb.js";
import { OutboxStatus, Priority, RecipientState, type Outbox } from "../../gen/email/v1/outbox_pb.js";
import { bounceReasonName } from "../../src/client/reasons.js";

/** What the latest report said about one recipient. */
export interface RecipientView {
  state: "bounced" | "delayed" | "complained";
  address: string;
  /** "blocked", "user_unknown", …; "" when none was recorded. */
  reason: string;
  /** The status code and the remote server's diagnostic. */
  detail: string;
}

export interface RowView {
  id: bigint;
  accountId: number;
  status: OutboxStatus;
  retries: number;
  nextAttemptAt: Date | undefined;
  lastError: string;
  messageId: string;
  providerMessageId: string;
  /** The relay of the latest attempt (for a SENT row, the one that accepted it); "" before any. */
  relay: string;
  /** When the row last changed, as far as the page knows. */
  updated: Date | undefined;
  /** The last event kind seen (SNAPSHOT for the initial state). */
  lastKind: OutboxEventKind | undefined;
  /** Bumped on every live change (not on snapshots or reads), so the view can flash the row. */
  version: number;
  /** The row's tags (every event and read carries them; they never change). */
  tags: Record<string, string>;
  /** What bounce and complaint reports said, per recipient (from the stream and from reads). */
  reports: RecipientView[];
  /** Recipients left out because they were suppressed. */
  suppressed: string[];
  /** Claimed after transactional mail when the account is the bottleneck. */
  bulk: boolean;
  details?: { subject: string; to: string[]; from: string };
}

/** The statuses in the order the page shows them. */
export const STATUSES: readonly OutboxStatus[] = [
  OutboxStatus.PENDING,
  OutboxStatus.SENDING,
  OutboxStatus.SENT,
  OutboxStatus.FAILED,
  OutboxStatus.DEAD,
  OutboxStatus.CANCELLED,
  OutboxStatus.SUPPRESSED,
  OutboxStatus.EXPIRED,
];

/** Events about one recipient: they leave the row's state as it is. */
const REPORTS = new Map<OutboxEventKind, RecipientView["state"]>([
  [OutboxEventKind.RECIPIENT_BOUNCED, "bounced"],
  [OutboxEventKind.RECIPIENT_DELAYED, "delayed"],
  [OutboxEventKind.RECIPIENT_COMPLAINED, "complained"],
]);
const STATES = new Map<RecipientState, RecipientView["state"]>([
  [RecipientState.BOUNCED, "bounced"],
  [RecipientState.DELAYED, "delayed"],
  [RecipientState.COMPLAINED, "complained"],
]);

const date = (ts: Timestamp | undefined) => (ts ? timestampDate(ts) : undefined);

export class OutboxModel {
  private readonly rows = new Map<bigint, RowView>();

  clear(): void {
    this.rows.clear();
  }

  get size(): number {
    return this.rows.size;
  }

  get(id: bigint): RowView | undefined {
    return this.rows.get(id);
  }

  /** Events of one row arrive in commit order, so each simply overwrites the state. */
  applyEvent(e: OutboxEvent): RowView {
    const row = this.rows.get(e.outboxId) ?? this.blank(e.outboxId, e.accountId);
    const report = REPORTS.get(e.kind);
    if (report) {
      const view = { state: report, address: e.recipient, reason: bounceReasonName(e.reason), detail: e.error };
      row.reports = [...row.reports.filter((r) => r.address !== e.recipient), view];
      row.version++;
      return row;
    }
    row.status = e.status;
    row.retries = e.retries;
    row.nextAttemptAt = date(e.nextAttemptAt);
    // The error stays visible while a failed row is re-attempted; it is gone once sent.
    if (e.error) row.lastError = e.error;
    if (e.status === OutboxStatus.SENT) row.lastError = "";
    if (e.messageId) row.messageId = e.messageId;
    if (e.providerMessageId) row.providerMessageId = e.providerMessageId;
    if (e.relay) row.relay = e.relay;
    row.updated = date(e.time) ?? row.updated;
    row.lastKind = e.kind;
    row.tags = e.tags;
    if (e.kind !== OutboxEventKind.SNAPSHOT) row.version++;
    return row;
  }

  /**
   * A row read with ListOutbox or GetOutbox. Its subject and recipients are kept; its state only
   * for a row no event has described yet (events are at least as new as any read).
   */
  applyRow(o: Outbox): void {
    const known = this.rows.get(o.outboxId);
    const row = known ?? this.blank(o.outboxId, o.accountId);
    row.details = { subject: o.subject, to: [...o.to, ...o.cc], from: o.from };
    row.tags = o.tags;
    row.suppressed = o.suppressedRecipients;
    row.bulk = o.priority === Priority.BULK;
    // Reports of recipients no event described yet (events are at least as new as any read).
    for (const r of o.recipients) {
      const state = STATES.get(r.state);
      if (!state || row.reports.some((k) => k.address === r.address)) continue;
      row.reports.push({ state, address: r.address, reason: bounceReasonName(r.reason), detail: `${r.statusCode} ${r.diagnostic}`.trim() });
    }
    if (!known) {
      row.status = o.status;
      row.retries = o.retries;
      row.nextAttemptAt = date(o.nextAttemptAt);
      row.lastError = o.lastError;
      row.messageId = o.messageId;
      row.providerMessageId = o.providerMessageId;
      row.relay = o.relay;
      row.updated = date(o.updateTime);
    }
  }

  counts(): Map<OutboxStatus, number> {
    const counts = new Map<OutboxStatus, number>(STATUSES.map((s) => [s, 0]));
    for (const row of this.rows.values()) counts.set(row.status, (counts.get(row.status) ?? 0) + 1);
    return counts;
  }

  /**
   * The newest rows (by id) in one of `statuses` (all when empty) and, when given, among `only`
   * (a search's results), at most `limit`.
   */
  visible(statuses: ReadonlySet<OutboxStatus>, limit: number, only?: ReadonlySet<bigint>): { rows: RowView[]; matching: number } {
    const matching = [...this.rows.values()].filter((r) => (statuses.size === 0 || statuses.has(r.status)) && (!only || only.has(r.id)));
    matching.sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
    return { rows: matching.slice(0, limit), matching: matching.length };
  }

  private blank(id: bigint, accountId: number): RowView {
    const row: RowView = {
      id,
      accountId,
      status: OutboxStatus.UNSPECIFIED,
      retries: 0,
      nextAttemptAt: undefined,
      lastError: "",
      messageId: "",
      providerMessageId: "",
      relay: "",
      updated: undefined,
      lastKind: undefined,
      version: 0,
      tags: {},
      reports: [],
      suppressed: [],
      bulk: false,
    };
    this.rows.set(id, row);
    return row;
  }
}

/** Operator actions a row in this status allows (RetryOutbox re-drives DEAD rows too). */
export function canRetry(s: OutboxStatus): boolean {
  return s === OutboxStatus.PENDING || s === OutboxStatus.FAILED || s === OutboxStatus.DEAD;
}

export function canCancel(s: OutboxStatus): boolean {
  return s === OutboxStatus.PENDING || s === OutboxStatus.FAILED;
}
