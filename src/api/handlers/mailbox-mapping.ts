// Stored messages -> proto MailMessage.
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { MailMessageSchema, MessageDirection, type MailMessage } from "../../../gen/email/v1/mailbox_service_pb.js";
import type { Direction, MailMessage as StoredMessage } from "../../outbox/messages.js";
import { time } from "./mapping.js";

const DIRECTION_TO_PROTO: Record<Direction, MessageDirection> = {
  inbound: MessageDirection.INBOUND,
  outbound: MessageDirection.OUTBOUND,
};

export function toProtoMessage(m: StoredMessage): MailMessage {
  return create(MailMessageSchema, {
    id: BigInt(m.id),
    accountId: m.accountId,
    direction: DIRECTION_TO_PROTO[m.direction],
    messageId: m.messageId,
    from: m.from ?? "",
    replyTo: m.replyTo,
    to: m.to,
    cc: m.cc,
    subject: m.subject ?? "",
    date: time(m.date),
    inReplyTo: m.inReplyTo ?? "",
    references: m.references,
    bodyText: m.bodyText ?? "",
    bodyHtml: m.bodyHtml ?? "",
    attachments: m.attachments.map((a) => ({ ...a, size: BigInt(a.size) })),
    outboxId: m.outboxId === null ? 0n : BigInt(m.outboxId),
    createTime: timestampFromMs(m.createdAt),
  });
}
