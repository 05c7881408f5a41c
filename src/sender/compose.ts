// A claimed row -> the nodemailer message. Everything comes from the row as stored at enqueue,
// so every attempt sends the same content; only the Message-ID names the attempt.
import type Mail from "nodemailer/lib/mailer/index.js";
import type { ClaimedMessage, MessageAttachment } from "../outbox/types.js";
import { foldedHeader } from "./header-fold.js";
import { addressOf } from "../suppression/recipients.js";

/** `envelopeFrom`: the MAIL FROM address when it is not the From header's (a VERP bounce address). */
export function composeMessage(m: ClaimedMessage, attachments: readonly MessageAttachment[], envelopeFrom?: string): Mail.Options {
  const subject = foldedHeader(m.subject);
  // Recipients suppressed when the row was committed are left out of the headers and the envelope.
  const left = new Set(m.suppressed);
  const keep = (list: string[]) => (left.size === 0 ? list : list.filter((r) => !left.has(addressOf(r))));
  const [to, cc, bcc] = [keep(m.to), keep(m.cc), keep(m.bcc)];
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
    headers: { "X-Outbox-Id": String(m.id), ...(subject ? { Subject: subject } : {}) },
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
