// A claimed row -> the nodemailer message. Everything comes from the row as stored at enqueue,
// so every attempt sends the same content; only the Message-ID names the attempt. The envelope
// sender is the account's own address whatever From the message shows (allowed_from), or its
// VERP bounce address; suppressed recipients are left out.
import type Mail from "nodemailer/lib/mailer/index.js";
import type { ClaimedMessage, MessageAttachment } from "../outbox/types.js";
import { foldedHeader } from "./header-fold.js";
import { addressOf } from "../outbox/suppressed-recipients.js";

/** `envelopeFrom`: the MAIL FROM address (the account's own, or a VERP bounce address). */
export function composeMessage(m: ClaimedMessage, attachments: readonly MessageAttachment[], envelopeFrom?: string): Mail.Options {
  const subject = foldedHeader(m.subject);
  // Recipients suppressed when the row was committed are left out of the headers and the envelope.
  const left = new Set(m.suppressed);
  const keep = (list: string[]) => (left.size === 0 ? list : list.filter((r) => !left.has(addressOf(r))));
  const [to, cc, bcc] = [keep(m.to), keep(m.cc), keep(m.bcc)];
  // Extra fields first, in their stored order; a value too long to fold goes as encoded words.
  const headers: { key: string; value: string | { prepared: true; value: string } }[] = m.headers.map(([key, value]) => ({
    key,
    value: foldedHeader(value) ?? value,
  }));
  headers.push({ key: "X-Outbox-Id", value: String(m.id) });
  if (subject) headers.push({ key: "Subject", value: subject });
  return {
    from: m.from,
    to,
    cc: cc.length ? cc : undefined,
    bcc: bcc.length ? bcc : undefined,
    replyTo: m.replyTo ?? undefined,
    subject: subject ? undefined : m.subject,
    text: m.bodyText,
    html: m.bodyHtml ?? undefined,
    messageId: m.messageId,
    date: new Date(m.createdAt),
    inReplyTo: m.inReplyTo ?? undefined,
    references: m.references ?? undefined,
    headers,
    // base64 for every type, text included: decoding gives back exactly the stored bytes.
    attachments: attachments.map((a) => ({
      filename: a.filename,
      contentType: a.contentType,
      content: a.content,
      cid: a.contentId ?? undefined,
      contentDisposition: a.contentId ? "inline" : "attachment",
      contentTransferEncoding: "base64",
    })),
    envelope: envelopeFrom ? { from: envelopeFrom, to: [...to, ...cc, ...bcc] } : undefined,
    disableFileAccess: true,
    disableUrlAccess: true,
  };
}
