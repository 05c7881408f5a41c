// The header block a row goes out with, for the detail view: the head an attempt puts in front,
// then the root headers of the message as composed for sending (Bcc left out).
import type { AttachmentInfo, ClaimedMessage } from "../outbox/types.js";
import { mailOptions } from "./compose.js";
import { attemptHead, rootHeaders } from "./mime.js";

/**
 * `m.messageId` must be set (the attempt's). Attachments are given without bytes: only their
 * names and types reach the top-level headers; the MIME boundary is random, as in every attempt.
 */
export function sentHeaders(m: ClaimedMessage, files: readonly AttachmentInfo[]): string {
  const mail = mailOptions(
    m,
    files.map((f) => ({ ...f, content: Buffer.alloc(0) })),
  );
  return attemptHead(m.messageId, new Date(m.createdAt), m.id) + rootHeaders(mail);
}
