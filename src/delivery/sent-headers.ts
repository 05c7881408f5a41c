// The header block a row goes out with, for the detail view: composed by the sender's own
// composeMessage and nodemailer's MailComposer, as an SMTP send composes it (Bcc left out).
import MailComposer from "nodemailer/lib/mail-composer/index.js";
import type { AttachmentInfo, ClaimedMessage } from "../outbox/types.js";
import { composeMessage } from "./compose.js";

/**
 * `m.messageId` must be set (the attempt's). Attachments are given without bytes: only their
 * names and types reach the top-level headers; the MIME boundary is random, as in every attempt.
 */
export function sentHeaders(m: ClaimedMessage, files: readonly AttachmentInfo[]): string {
  const mail = composeMessage(
    m,
    files.map((f) => ({ ...f, content: Buffer.alloc(0) })),
  );
  return new MailComposer(mail).compile().buildHeaders();
}
