// Domain rows and events -> proto messages.
import { create } from "@bufbuild/protobuf";
import { timestampFromMs, type Timestamp } from "@bufbuild/protobuf/wkt";
import { CancelReason, OutboxEventSchema, type OutboxEvent, type OutboxEventKind } from "../../../gen/email/v1/email_service_pb.js";
import { OutboxSchema, OutboxStatus, Priority, type Outbox } from "../../../gen/email/v1/outbox_pb.js";
import { EventKind, type EventRow, type OutboxRow, type OutboxStatus as Status } from "../../outbox/types.js";
import { toProtoReason } from "./reason-mapping.js";

export const STATUS_TO_PROTO: Record<Status, OutboxStatus> = {
  pending: OutboxStatus.PENDING,
  sending: OutboxStatus.SENDING,
  sent: OutboxStatus.SENT,
  failed: OutboxStatus.FAILED,
  dead: OutboxStatus.DEAD,
  cancelled: OutboxStatus.CANCELLED,
  suppressed: OutboxStatus.SUPPRESSED,
  expired: OutboxStatus.EXPIRED,
};

export const STATUS_FROM_PROTO = new Map<OutboxStatus, Status>(Object.entries(STATUS_TO_PROTO).map(([k, v]) => [v, k as Status]));

export function time(ms: number | null): Timestamp | undefined {
  return ms === null ? undefined : timestampFromMs(ms);
}

/**
 * When the next attempt is due for a queued row; for a SENT row the time it was sent, as the
 * original product's SendResult carried it; none otherwise.
 */
function nextAttemptAt(row: OutboxRow): number | null {
  if (row.status === "pending" || row.status === "failed") return row.nextAttemptAt;
  return row.status === "sent" ? row.sentAt : null;
}

export function toProtoOutbox(row: OutboxRow): Outbox {
  return create(OutboxSchema, {
    outboxId: BigInt(row.id),
    accountId: row.accountId,
    status: STATUS_TO_PROTO[row.status],
    retries: row.retries,
    providerMessageId: row.providerMessageId ?? "",
    nextAttemptAt: time(nextAttemptAt(row)),
    messageId: row.messageId ?? "",
    lastError: row.lastError ?? "",
    lastErrorClass: row.lastErrorClass ?? "",
    createTime: time(row.createdAt),
    updateTime: time(row.updatedAt),
    to: row.to,
    cc: row.cc,
    bcc: row.bcc,
    subject: row.subject,
    idempotencyKey: row.idempotencyKey ?? "",
    inReplyToMessageId: row.inReplyTo ?? "",
    sendAt: time(row.sendAt),
    sentTime: time(row.sentAt),
    suppressedRecipients: row.suppressed,
    from: row.from,
    headers: Object.fromEntries(row.headers),
    tags: row.tags,
    metadata: row.metadata,
    priority: row.priority === "bulk" ? Priority.BULK : Priority.TRANSACTIONAL,
    expireAt: time(row.expireAt),
    collapseKey: row.collapseKey ?? "",
    supersededBy: BigInt(row.supersededBy ?? 0),
    templateName: row.template?.name ?? "",
    templateVersion: row.template?.version ?? 0,
    relay: row.relay ?? "",
  });
}

export function toProtoEvent(e: EventRow): OutboxEvent {
  return create(OutboxEventSchema, {
    eventId: BigInt(e.id),
    kind: e.kind as number as OutboxEventKind,
    outboxId: BigInt(e.outboxId),
    accountId: e.accountId,
    status: STATUS_TO_PROTO[e.status],
    retries: e.retries,
    // A SENT event is written in the transaction that records the sending, at sent_at.
    nextAttemptAt: time(e.kind === EventKind.sent ? e.createdAt : e.nextAttemptAt),
    providerMessageId: e.providerMessageId ?? "",
    error: e.error ?? "",
    time: time(e.createdAt),
    messageId: e.messageId ?? "",
    recipient: e.recipient ?? "",
    reason: toProtoReason(e.bounceReason),
    relay: e.relay ?? "",
    tags: e.tags,
    metadata: e.metadata,
    cancelReason: cancelReason(e),
    supersededBy: BigInt(e.supersededBy ?? 0),
  });
}

/** A CANCELLED event's reason: the newer row that superseded it, or else a CancelOutbox. */
function cancelReason(e: EventRow): CancelReason {
  if (e.kind !== EventKind.cancelled) return CancelReason.UNSPECIFIED;
  return e.supersededBy === null ? CancelReason.REQUESTED : CancelReason.SUPERSEDED;
}
