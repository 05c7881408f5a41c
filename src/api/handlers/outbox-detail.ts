// GetOutboxMessage's answer: a row with what it sends (headers, bodies, attachment names) and its
// event timeline. Bodies and events are bounded, so one answer stays a few MiB at most.
import { create } from "@bufbuild/protobuf";
import { GetOutboxMessageResponseSchema, type GetOutboxMessageResponse } from "../../../gen/email/v1/email_service_pb.js";
import { listAttachmentInfo } from "../../outbox/attachments.js";
import type { Pool } from "../../db/pool.js";
import { readRowEvents } from "../../outbox/events.js";
import { attemptMessageId } from "../../outbox/rows.js";
import type { ClaimedMessage } from "../../outbox/types.js";
import { sentHeaders } from "../../delivery/sent-headers.js";
import { toProtoEvent, toProtoOutbox } from "./mapping.js";

/** Bytes of each body returned (the proto documents the number). */
export const MAX_BODY_RETURNED = 1_048_576;
/** Newest events returned (the proto documents the number). */
export const MAX_EVENTS_RETURNED = 1000;
/** Answers built at once per instance: each holds a row's whole bodies while it is composed. */
export const MAX_DETAIL_READS = 4;

export async function outboxMessage(pool: Pool, m: ClaimedMessage, messageIdDomain: string): Promise<GetOutboxMessageResponse> {
  const [files, events] = await Promise.all([listAttachmentInfo(pool, m.id), readRowEvents(pool, m.id, MAX_EVENTS_RETURNED + 1)]);
  // Before its first attempt a row has no Message-ID yet: show the one that attempt will carry.
  const messageId = m.messageId || attemptMessageId(m.id, m.messageSeq, messageIdDomain);
  const text = bounded(m.bodyText);
  const html = bounded(m.bodyHtml ?? "");
  return create(GetOutboxMessageResponseSchema, {
    outbox: toProtoOutbox(m),
    fromAddress: m.from,
    replyTo: m.replyTo ?? "",
    headers: sentHeaders({ ...m, messageId }, files),
    bodyText: text.value,
    bodyTextTruncated: text.truncated,
    bodyHtml: html.value,
    bodyHtmlTruncated: html.truncated,
    attachments: files.map((f) => ({
      filename: f.filename,
      contentType: f.contentType,
      contentId: f.contentId ?? "",
      sizeBytes: BigInt(f.sizeBytes),
    })),
    events: events.slice(-MAX_EVENTS_RETURNED).map(toProtoEvent),
    eventsTruncated: events.length > MAX_EVENTS_RETURNED,
  });
}

/** The first MAX_BODY_RETURNED bytes of UTF-8, cut before a character that would not fit whole. */
export function bounded(body: string): { value: string; truncated: boolean } {
  // UTF-16 units never take fewer UTF-8 bytes than one each: short strings need no encoding.
  if (body.length <= MAX_BODY_RETURNED / 3 || Buffer.byteLength(body, "utf8") <= MAX_BODY_RETURNED)
    return { value: body, truncated: false };
  const bytes = Buffer.from(body, "utf8");
  let end = MAX_BODY_RETURNED;
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return { value: bytes.subarray(0, end).toString("utf8"), truncated: true };
}
