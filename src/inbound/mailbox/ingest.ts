// One raw RFC 5322 message -> the fields the mailbox stores (mailparser does the MIME work).
import { simpleParser, type AddressObject, type EmailAddress } from "mailparser";
import { AddressError, formatMailbox, parseMailbox } from "../../message/address.js";
import { parseReferences } from "../../message/threading.js";
import type { AttachmentMeta, NewMailMessage } from "../../outbox/messages.js";
import { storedMessageId } from "./message-id.js";
import { clipUtf8, headerText } from "./text.js";

/** Raw messages larger than this are refused (attachment content is not kept, only metadata). */
export const MAX_RAW_BYTES = 32 * 1024 * 1024;
/** Text and HTML bodies together; keeps one row well inside the server's 16 MiB packet. */
export const MAX_STORED_BODY_BYTES = 10 * 1024 * 1024;
/** RFC 5322 line length: a subject longer than this could not be answered with "Re: " anyway. */
export const MAX_STORED_SUBJECT_BYTES = 998;
/** Display names are cut to this, so a mailbox always fits its column. */
const MAX_NAME_BYTES = 500;
/** HTML longer than this is not converted to text (the conversion is the costly part). */
const MAX_HTML_TO_TEXT = 2 * 1024 * 1024;

export class IngestError extends Error {
  override readonly name = "IngestError";

  constructor(
    readonly reason: "MESSAGE_TOO_LARGE" | "MESSAGE_INVALID" | "BODY_TOO_LARGE",
    message: string,
  ) {
    super(message);
  }
}

/** Parses a received message for an account; throws IngestError for what cannot be stored. */
export async function parseInbound(accountId: number, raw: Buffer): Promise<NewMailMessage> {
  if (raw.length > MAX_RAW_BYTES) throw new IngestError("MESSAGE_TOO_LARGE", `raw must be at most ${MAX_RAW_BYTES} bytes`);
  const mail = await simpleParser(raw, {
    keepCidLinks: true,
    skipTextToHtml: true,
    checksumAlgo: "sha256",
    maxHtmlLengthToParse: MAX_HTML_TO_TEXT,
  }).catch(() => {
    // The parser refuses only what the input got wrong (oversized headers, too many parts).
    throw new IngestError("MESSAGE_INVALID", "raw could not be parsed as a MIME message");
  });
  if (mail.headers.size === 0) throw new IngestError("MESSAGE_INVALID", "raw is not an RFC 5322 message: it has no header fields");
  const bodyText = mail.text ?? null;
  const bodyHtml = typeof mail.html === "string" ? mail.html : null;
  if (Buffer.byteLength(bodyText ?? "") + Buffer.byteLength(bodyHtml ?? "") > MAX_STORED_BODY_BYTES) {
    throw new IngestError("BODY_TOO_LARGE", `the text and HTML bodies together must be at most ${MAX_STORED_BODY_BYTES} bytes`);
  }
  const date = mail.headers.has("date") ? mail.date?.getTime() : undefined;
  return {
    accountId,
    direction: "inbound",
    messageId: storedMessageId(mail.messageId, raw),
    from: mailboxes(mail.from)[0] ?? null,
    replyTo: mailboxes(mail.replyTo),
    to: mailboxes(mail.to),
    cc: mailboxes(mail.cc),
    subject: mail.subject === undefined ? null : clipUtf8(headerText(mail.subject), MAX_STORED_SUBJECT_BYTES),
    date: date !== undefined && Number.isFinite(date) ? date : null,
    inReplyTo: parseReferences(mail.inReplyTo)[0] ?? null,
    references: parseReferences([mail.references ?? []].flat(2).join(" ")),
    bodyText,
    bodyHtml,
    attachments: mail.attachments.map(
      (a): AttachmentMeta => ({
        filename: headerText(a.filename ?? ""),
        contentType: a.contentType,
        size: a.size,
        contentId: a.contentId ?? "",
        disposition: a.contentDisposition ?? "",
        sha256: a.checksum,
      }),
    ),
  };
}

/** The mailboxes of an address header (groups flattened), as display strings. */
function mailboxes(header: AddressObject | AddressObject[] | undefined): string[] {
  const flat = (list: EmailAddress[]): EmailAddress[] => list.flatMap((e) => (e.group ? flat(e.group) : [e]));
  return flat([header ?? []].flat().flatMap((h) => h.value))
    .filter((e) => e.address)
    .map((e) => display(clipUtf8(headerText(e.name), MAX_NAME_BYTES), e.address!));
}

/**
 * "Name" <address> in the form Send accepts. An address Send would refuse is kept bare (and
 * cleaned) for display; a Reply will not use it.
 */
function display(name: string, address: string): string {
  try {
    return formatMailbox({ name, address: parseMailbox(address).address });
  } catch (err) {
    if (!(err instanceof AddressError)) throw err;
    return clipUtf8(headerText(address), 998);
  }
}
