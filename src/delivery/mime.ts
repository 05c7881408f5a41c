// A message's bytes, composed once. nodemailer builds the MIME tree (MailComposer: the headers,
// parts, boundaries and transfer encodings it has always sent); the tree is written out here in
// one synchronous pass instead of through nodemailer's stream per part, which cost about as much
// CPU as the SMTP exchange itself. The bytes leave out the fields an attempt sets (attemptHead):
// a message without attachments is composed when it is accepted and stored with its row, so an
// attempt only puts its Message-ID, Date and X-Outbox-Id in front (and the transport signs it).
import { randomUUID } from "node:crypto";
import MailComposer from "nodemailer/lib/mail-composer/index.js";
import type Mail from "nodemailer/lib/mailer/index.js";
import type MimeNode from "nodemailer/lib/mime-node/index.js";
import { encode as base64Encode, wrap as base64Wrap } from "nodemailer/lib/base64/index.js";
import { encode as qpEncode, wrap as qpWrap } from "nodemailer/lib/qp/index.js";
import { mailOptions, type MessageParts } from "./compose.js";

const CRLF = Buffer.from("\r\n");
const STRIPPED_ID = "<composed@localhost>";
const STRIPPED_DATE = new Date(0);

/** Fields nodemailer adds to every root that an attempt sets itself (attemptHead). */
const PER_ATTEMPT = /^(message-id|date):/i;

/** The message as `mail` describes it, without Message-ID and Date. */
export function composeBody(mail: Mail.Options): Buffer {
  return writeTree(compile(mail));
}

/** A compiled tree's bytes, without the root's Message-ID and Date. */
export function writeTree(root: MimeNode): Buffer {
  const out: (string | Buffer)[] = [];
  write(root, out, true);
  const bytes = Buffer.concat(out.map((part) => (typeof part === "string" ? Buffer.from(part, "utf8") : part)));
  // As nodemailer's stream does (LastNewline): the message ends with a line break.
  return bytes.at(-1) === 0x0a ? bytes : Buffer.concat([bytes, CRLF]);
}

/** The root's header block as composeBody writes it (no Message-ID, no Date, no blank line). */
export function rootHeaders(mail: Mail.Options): string {
  return withoutPerAttempt(compile(mail).buildHeaders());
}

/**
 * nodemailer's tree for `mail`. The Message-ID and Date given are stripped again (an attempt sets
 * its own); given, nodemailer draws no random id for them. The boundaries' random part comes from
 * randomUUID's pooled entropy: nodemailer's own draw is a getrandom() call per message, which was
 * a third of composing.
 */
function compile(mail: Mail.Options): MimeNode {
  const baseBoundary = randomUUID().replaceAll("-", "");
  return new MailComposer({ ...mail, messageId: STRIPPED_ID, date: STRIPPED_DATE, baseBoundary }).compile();
}

/** What an attempt puts in front of the composed bytes. */
export function attemptHead(messageId: string, date: Date, outboxId: number): string {
  return `Message-ID: ${messageId}\r\nDate: ${date.toUTCString().replace(/GMT/, "+0000")}\r\nX-Outbox-ID: ${outboxId}\r\n`;
}

/** A node as MimeNode.stream writes it: headers, encoded content, then each child between boundaries. */
function write(node: MimeNode, out: (string | Buffer)[], root: boolean): void {
  const headers = node.buildHeaders();
  out.push(`${root ? withoutPerAttempt(headers) : headers}\r\n\r\n`);
  const content = node.content;
  if (content !== undefined && content !== null && content !== "") {
    if (typeof content !== "string" && !Buffer.isBuffer(content)) throw new Error("only string and Buffer contents are composed");
    const encoding = node.getTransferEncoding();
    if (encoding === "base64") out.push(base64Wrap(base64Encode(content), 76));
    else if (encoding === "quoted-printable") out.push(qpWrap(qpEncode(content), 76));
    else out.push(content);
  }
  if (!node.multipart) return;
  node.childNodes.forEach((child, i) => {
    out.push(`${i > 0 ? "\r\n" : ""}--${node.boundary}\r\n`);
    write(child, out, false);
  });
  out.push(`\r\n--${node.boundary}--\r\n`);
}

/** A header block without the per-attempt fields (neither is ever folded onto a second line). */
function withoutPerAttempt(headers: string): string {
  return headers
    .split("\r\n")
    .filter((line) => !PER_ATTEMPT.test(line))
    .join("\r\n");
}

/** Larger messages are composed per attempt: stored bytes go into the row's INSERT, hex-escaped. */
export const MAX_STORED_MIME_BYTES = 1024 * 1024;

/** The bytes stored with a new row: its message composed without attachments, or undefined if large. */
export function storedMime(m: MessageParts): Buffer | undefined {
  const bytes = composeBody(mailOptions(m, []));
  return bytes.length <= MAX_STORED_MIME_BYTES ? bytes : undefined;
}
