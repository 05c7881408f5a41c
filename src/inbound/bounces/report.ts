// A received message -> the bounce or complaint report it is, if it is one. The shapes real MTAs
// send are read in shapes/: Amazon SES JSON notifications, ARF and Hotmail complaints, RFC 3464
// DSNs however nested or encoded, and the prose notices of the MTAs that send none. Each names
// its recipients; outcome.ts and classify.ts decide status, reply code and reason for all alike.
// Bounded: only the first REPORT_BYTES are read, MIME nesting and parts are capped (mime.ts),
// recipients are capped at MAX_RECIPIENTS, and every pattern is linear.
import { decodeWords, readMail, splitHead, type Headers, type Mail } from "./mime.js";
import { readNotice, type Notice } from "./notice.js";
import { outcome, worded, type RecipientOutcome } from "./outcome.js";
import { complaintIn, type Complaint } from "./shapes/arf.js";
import { isAutoReply } from "./shapes/autoreply.js";
import { dsnFound } from "./shapes/dsn.js";
import { MAX_RECIPIENTS, type Found } from "./shapes/found.js";
import { plainFound } from "./shapes/plain.js";
import { sesNotification } from "./shapes/ses-json.js";
import { addressesIn, unique } from "./text.js";

export type { RecipientOutcome, RecipientState } from "./outcome.js";
export { MAX_RECIPIENTS } from "./shapes/found.js";

export interface Report {
  kind: "bounce" | "complaint";
  recipients: RecipientOutcome[];
  /** Message-ID header values of the returned original (its headers or the whole message). */
  originalMessageIds: string[];
  /** Recipients named in the returned original's To and Cc headers (a complaint may name none else). */
  originalRecipients: string[];
  /** Where the report was delivered (To, Delivered-To, X-Original-To, Envelope-To): VERP addresses. */
  deliveredTo: string[];
}

/** Headers (and the start of the body) read before a message is parsed as a possible report. */
const HEAD_BYTES = 64 * 1024;
/** What is read of a report: its notice, status fields and the original's headers come first. */
export const REPORT_BYTES = 1024 * 1024;

/**
 * Cheap test on the raw header block (and the start of the body): only what might be a report is
 * parsed a second time. Reports come from MTAs or say so in their type, subject or first lines.
 */
export function mightBeReport(raw: Buffer): boolean {
  const text = raw.subarray(0, HEAD_BYTES).toString("latin1");
  const end = text.search(/\r?\n\r?\n/);
  const head = (end >= 0 ? text.slice(0, end) : text).replace(/\r?\n[ \t]+/g, " ");
  const subject = decodeWords(/^subject:(.*)$/im.exec(head)?.[1] ?? "");
  const start = end >= 0 ? text.slice(end, end + 8192) : "";
  return (
    /^content-type:\s*multipart\/report/im.test(head) ||
    /^x-failed-recipients:/im.test(head) ||
    /^from:.*\b(?:mailer-daemon|postmaster|mail delivery|mail administrator|ndr administrator|no-reply@sns\.amazonaws\.com|staff@hotmail\.com)/im.test(
      head,
    ) ||
    /\b(?:undeliver(?:ed|able)|delivery (?:status )?notification|returned mail|failure notice|delivery fail|mail delivery|delivery problem|could not be delivered|non[- ]?delivery|aws notification message|complaint about message|mail system error|failed delivery|delivery report|delivery status)/i.test(
      subject,
    ) ||
    /"notificationType"\s*:\s*"(?:Bounce|Complaint)"|^Content-Type:\s*message\/(?:delivery-status|feedback-report)|could not be delivered to|following (?:addresses|recipients?)|unable to deliver/im.test(
      start,
    )
  );
}

/** The report in `raw`, or undefined when it is ordinary mail, an auto-reply, or a report of success. */
export async function readReport(raw: Buffer): Promise<Report | undefined> {
  if (!mightBeReport(raw)) return undefined;
  const mail = readMail(raw.subarray(0, REPORT_BYTES));
  if (isAutoReply(mail)) return undefined;
  const notice = readNotice(mail);
  const base = basics(mail, notice);

  const ses = sesNotification(notice);
  if (ses) base.originalMessageIds = unique([...ses.messageIds, ...base.originalMessageIds]);
  const complaint = ses?.kind === "complaint" ? ses.complaint : complaintIn(mail, notice);
  // A "not-spam" feedback report takes a complaint back: it is none.
  if (complaint) return complaint.feedbackType === "not-spam" ? undefined : complaintReport(complaint, base);

  const found = ses?.kind === "bounce" ? ses.found : bounceFound(mail, notice, base.originalTo);
  if (found.length === 0) return undefined;
  const { originalTo: _, ...rest } = base;
  return { kind: "bounce", recipients: found.map(outcome), ...rest };
}

type Basics = Omit<Report, "kind" | "recipients"> & { originalTo: string[] };

/**
 * The failed recipients: a DSN's, its diagnostics completed from the notice when it gives none;
 * the notice's when there is no DSN (or its recipient fields name no address). A DSN whose
 * recipients were all delivered is no bounce.
 */
function bounceFound(mail: Mail, notice: Notice, originalTo: string[]): Found[] {
  const dsn = dsnFound(notice);
  if (dsn.deliveredOnly) return [];
  const addresses = (names: string[], heads: Headers[]) =>
    heads.flatMap((h) => names.flatMap((n) => h.all(n))).flatMap((v) => addressesIn(v).map((a) => a.address));
  const originals = notice.originals.map((o) => splitHead(o.replace(/^\s+/, "")).headers);
  const plain = plainFound({
    notice: notice.text,
    subject: decodeWords(mail.headers.get("subject") ?? ""),
    reporter: new Set(addresses(["from", "sender"], [mail.headers])),
    senders: new Set([
      ...addresses(["to", "reply-to"], [mail.headers]),
      ...addresses(["from", "sender", "return-path", "reply-to", "errors-to"], originals),
    ]),
    failedHeader: addresses(["x-failed-recipients"], [mail.headers]),
    originalTo,
  });
  if (dsn.found.length === 0) return plain;
  return dsn.found.map((f) => {
    const said = plain.find((p) => p.address === f.address);
    return { ...f, context: said && worded(said.text) ? said.text : notice.text };
  });
}

function complaintReport(c: Complaint, base: Basics): Report {
  const { originalTo: _, ...rest } = base;
  const addresses = c.named.length > 0 ? c.named : base.originalRecipients.slice(0, MAX_RECIPIENTS);
  const recipients = addresses.map(
    (address): RecipientOutcome => ({
      address,
      state: "complained",
      status: c.feedbackType,
      reason: "complaint",
      replyCode: "",
      feedbackType: c.feedbackType,
      diagnostic: c.diagnostic,
    }),
  );
  return { kind: "complaint", recipients, ...rest };
}

/** What every report carries: the original's Message-IDs and recipients, where it was delivered. */
function basics(mail: Mail, notice: Notice): Basics {
  const heads = notice.originals.map((o) => splitHead(o.replace(/^\s+/, "")).headers);
  // The original's lines as they are in the text too: a copy quoted without its own part.
  const lines = [...notice.originals, ...notice.fieldTexts].join("\n").replace(/\n[ \t]+/g, " ");
  const lineValues = (names: string) => [...lines.matchAll(new RegExp(`^(?:${names}):[ \\t]*(.*)$`, "gim"))].map((m) => m[1]!);
  const ids = [...heads.flatMap((h) => h.all("message-id")), ...lineValues("(?:x-original-)?message-id")];
  const originalTo = unique(
    heads.flatMap((h) => [...h.all("to"), ...h.all("x-envelope-to")]).flatMap((v) => addressesIn(v).map((a) => a.address)),
  );
  const recipients = [...heads.flatMap((h) => [...h.all("to"), ...h.all("cc")]), ...lineValues("to|cc")];
  return {
    originalMessageIds: unique(ids.flatMap((v) => v.match(/<[^<>\s]+>/g) ?? [])),
    originalRecipients: unique(recipients.flatMap((v) => addressesIn(v).map((a) => a.address))),
    deliveredTo: ["to", "delivered-to", "x-original-to", "envelope-to", "x-envelope-to"].flatMap((h) => mail.headers.all(h)),
    originalTo,
  };
}
