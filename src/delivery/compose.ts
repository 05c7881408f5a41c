// A row's message -> what nodemailer composes (mime.ts writes it out). Everything comes from the
// row as stored at enqueue, so every attempt sends the same content; only the head an attempt
// puts in front (Message-ID, Date, X-Outbox-Id) names the attempt. The envelope sender is the
// account's own address whatever From the message shows (allowed_from), or its VERP bounce
// address; suppressed recipients are left out of the headers and the envelope.
import type Mail from "nodemailer/lib/mailer/index.js";
import type { HeaderField, MessageAttachment } from "../outbox/types.js";
import { foldedHeader } from "./header-fold.js";
import { addressOf } from "../outbox/suppressed-recipients.js";

/** The parts of a message, as a new message and a claimed row both hold them. */
export interface MessageParts {
  from: string;
  to: string[];
  cc: string[];
  bcc: string[];
  replyTo?: string | null;
  subject: string;
  bodyText: string;
  bodyHtml?: string | null;
  inReplyTo?: string | null;
  references?: string | null;
  headers?: HeaderField[];
  /** Recipients suppressed when the row was committed. */
  suppressed?: string[];
}

/** The recipients the message goes to: suppressed ones left out. */
export function recipients(m: MessageParts): { to: string[]; cc: string[]; bcc: string[] } {
  const left = new Set(m.suppressed ?? []);
  const keep = (list: string[]) => (left.size === 0 ? list : list.filter((r) => !left.has(addressOf(r))));
  return { to: keep(m.to), cc: keep(m.cc), bcc: keep(m.bcc) };
}

/** The message's content for nodemailer: headers and parts, no Message-ID, Date or envelope. */
export function mailOptions(m: MessageParts, attachments: readonly MessageAttachment[]): Mail.Options {
  const subject = foldedHeader(m.subject);
  const { to, cc, bcc } = recipients(m);
  // Extra fields first, in their stored order; a value too long to fold goes as encoded words.
  const headers: { key: string; value: string | { prepared: true; value: string } }[] = (m.headers ?? []).map(([key, value]) => ({
    key,
    value: foldedHeader(value) ?? value,
  }));
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
    disableFileAccess: true,
    disableUrlAccess: true,
  };
}
