// A received message -> the bounce or complaint report it is, if it is one: RFC 3464 delivery
// status notifications, RFC 5965 ARF feedback reports, and the common plain-text bounces that
// carry neither (Exim's "Mail delivery failed", with X-Failed-Recipients). mailparser does the
// MIME work; the report's field blocks are read from the parts it decodes.
import { simpleParser, type ParsedMail } from "mailparser";
import { fieldBlocks, typedValue, type FieldBlock } from "./fields.js";
import type { BounceReason } from "./reasons.js";

export type RecipientState = "bounced" | "delayed" | "complained";

export interface RecipientOutcome {
  /** Lower-cased address. */
  address: string;
  state: RecipientState;
  /** "5.1.1", "4.4.7"; the feedback type ("abuse") for a complaint. */
  status: string;
  diagnostic: string;
  /** Why it failed (reasons.ts); "complaint" for a complaint. */
  reason: BounceReason;
  /** The SMTP reply code the report quoted ("550"), or "". */
  replyCode: string;
  /** A complaint's feedback type ("abuse"). */
  feedbackType?: string;
}

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

/** Headers read before a message is parsed as a possible report; a report's are short. */
const HEAD_BYTES = 64 * 1024;
const MAX_DIAGNOSTIC = 1000;
const EMAIL = /[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+/;

/**
 * Cheap test on the raw header block: only what might be a report is parsed a second time.
 * Reports come from MTAs (MAILER-DAEMON, postmaster) or say so in their type or subject.
 */
export function mightBeReport(raw: Buffer): boolean {
  const text = raw.subarray(0, HEAD_BYTES).toString("latin1");
  const end = text.search(/\r?\n\r?\n/);
  const head = (end >= 0 ? text.slice(0, end) : text).replace(/\r?\n[ \t]+/g, " ");
  return /^content-type:\s*multipart\/report/im.test(head) ||
    /^x-failed-recipients:/im.test(head) ||
    /^from:.*\b(mailer-daemon|postmaster|mail delivery (subsystem|system))\b/im.test(head) ||
    /^subject:.*\b(undeliver(ed|able)|delivery status notification|returned mail|failure notice|mail delivery failed|delivery failure)/im.test(head);
}

/** The report in `raw`, or undefined when it is ordinary mail (or a report of success). */
export async function readReport(raw: Buffer): Promise<Report | undefined> {
  if (!mightBeReport(raw)) return undefined;
  const mail = await simpleParser(raw, { skipTextToHtml: true, skipHtmlToText: true, skipImageLinks: true }).catch(() => undefined);
  if (!mail) return undefined;
  const original = originalParts(mail);
  const text = mail.text ?? "";
  const blocks = fieldBlocks([text, ...partTexts(mail, ["message/delivery-status", "message/feedback-report"])].join("\n\n"));
  const reportType = reportTypeOf(mail);
  // The returned headers as they are in the body's bytes too: mailparser shows an inline
  // message/rfc822 part only as a summary, without its Message-ID.
  const body = [bodyOf(raw)];
  const base = {
    originalMessageIds: unique([...headerValues(original, "message-id"), ...lineValues(body, "(?:x-original-)?message-id")]
      .flatMap((v) => v.match(/<[^<>\s]+>/g) ?? [])),
    originalRecipients: unique([...headerValues(original, "to"), ...headerValues(original, "cc"), ...lineValues(body, "to|cc")].flatMap(addressesIn)),
    deliveredTo: ["to", "delivered-to", "x-original-to", "envelope-to", "x-envelope-to"].flatMap((h) => headerList(mail, h)),
  };
  if (reportType === "feedback-report") {
    const feedback = blocks.find((b) => b.has("feedback-type"));
    if (!feedback) return undefined;
    const type = (feedback.get("feedback-type") ?? "abuse").toLowerCase().slice(0, 16);
    const named = [feedback.get("original-rcpt-to"), feedback.get("removal-recipient")].flatMap((v) => (v ? addressesIn(v) : []));
    const by = feedback.get("reporting-mta") ?? feedback.get("user-agent") ?? "";
    const diagnostic = clip(`feedback report (${type})${by ? ` from ${typedValue(by) ?? by}` : ""}`);
    const recipients = unique(named.length > 0 ? named : base.originalRecipients)
      .map((address): RecipientOutcome => ({ address, state: "complained", status: type, diagnostic, reason: "complaint", replyCode: "", feedbackType: type }));
    return { kind: "complaint", recipients, ...base };
  }
  const recipients = reportType === "delivery-status" ? dsnRecipients(blocks) : plainRecipients(mail, text);
  if (recipients.length === 0) return undefined;
  return { kind: "bounce", recipients, ...base };
}

/** RFC 3464 per-recipient blocks; "delivered", "relayed" and "expanded" are not failures. */
function dsnRecipients(blocks: FieldBlock[]): RecipientOutcome[] {
  const out: RecipientOutcome[] = [];
  for (const b of blocks) {
    const address = typedValue(b.get("final-recipient") ?? b.get("original-recipient"));
    const action = (b.get("action") ?? "").toLowerCase();
    if (!address || !EMAIL.test(address) || (action !== "failed" && action !== "delayed")) continue;
    const status = /\b([245])\.\d{1,3}\.\d{1,3}\b/.exec(b.get("status") ?? "")?.[0] ?? (action === "delayed" ? "4.0.0" : "5.0.0");
    if (status.startsWith("2")) continue;
    out.push(outcome(address, status, typedValue(b.get("diagnostic-code")) ?? b.get("status") ?? action));
  }
  return dedupe(out);
}

/**
 * A bounce without a delivery-status part: its failed recipients (X-Failed-Recipients, or the
 * addresses listed after "the following address(es) failed"), each with the first status code or
 * SMTP reply that follows it in the text.
 */
function plainRecipients(mail: ParsedMail, text: string): RecipientOutcome[] {
  // The text above the returned copy of the message, whose own headers name other addresses.
  const notice = text.split(/^-+ ?(This is a copy of|Original message|Below this line)/im)[0]!;
  let addresses = headerList(mail, "x-failed-recipients").flatMap(addressesIn);
  if (addresses.length === 0) {
    const listed = /(following (address(es)?|recipients?)[^\n]*(failed|could not be delivered)[^\n]*|could not be delivered to[^\n]*)\n([\s\S]{0,4000})/i.exec(notice);
    addresses = listed ? addressesIn(listed[5]!.split(/\n\s*\n\s*\n/)[0]!) : [];
  }
  const permanent = /permanent (error|failure)/i.test(notice);
  return dedupe(unique(addresses).map((address) => {
    const at = notice.toLowerCase().indexOf(address);
    const after = at >= 0 ? notice.slice(at, at + 1500) : notice;
    const enhanced = /\b([45])\.\d{1,3}\.\d{1,3}\b/.exec(after)?.[0];
    const reply = /\b([45])\d\d\b[ -]/.exec(after)?.[1];
    const status = enhanced ?? (reply ? `${reply}.0.0` : permanent || !/temporar|delayed|will (keep|continue) (trying|to try)/i.test(notice) ? "5.0.0" : "4.0.0");
    const line = after.split("\n").map((l) => l.trim()).find((l) => /\b[45]\d\d\b|\b[45]\.\d{1,3}\.\d{1,3}\b/.test(l)) ?? "";
    return outcome(address, status, line);
  }));
}

function outcome(address: string, status: string, diagnostic: string): RecipientOutcome {
  const state = status.startsWith("5") ? "bounced" : "delayed";
  return { address: address.toLowerCase(), state, status, diagnostic: clip(diagnostic), reason: state === "bounced" ? "undetermined" : "delayed", replyCode: "" };
}

/** The report-type of a multipart/report message, lower-cased; undefined for other types. */
function reportTypeOf(mail: ParsedMail): string | undefined {
  const ct = mail.headers.get("content-type") as { value?: string; params?: Record<string, string> } | undefined;
  if (ct?.value?.toLowerCase() !== "multipart/report") return undefined;
  return ct.params?.["report-type"]?.toLowerCase();
}

/** Decoded texts of the parts of these types that mailparser kept as attachments. */
function partTexts(mail: ParsedMail, types: string[]): string[] {
  return mail.attachments.filter((a) => types.includes(a.contentType.toLowerCase())).map((a) => a.content.toString("utf8"));
}

/**
 * The returned original: its headers (text/rfc822-headers), the whole message (message/rfc822),
 * or, in a plain-text bounce, the copy quoted below the notice.
 */
function originalParts(mail: ParsedMail): string[] {
  const parts = partTexts(mail, ["text/rfc822-headers", "message/rfc822", "message/rfc822-headers"]);
  const quoted = /^-+ ?(This is a copy of|Original message|Below this line)[^\n]*\n([\s\S]*)$/im.exec(mail.text ?? "")?.[2];
  if (quoted) parts.push(quoted);
  // An inline message/rfc822 part is decoded into the text: its header block is one of the text's.
  if (parts.length === 0) {
    for (const b of fieldBlocks(mail.text ?? "")) if (b.has("message-id")) parts.push([...b].map(([k, v]) => `${k}: ${v}`).join("\n"));
  }
  return parts;
}

/** The values of one header in header blocks (the first block of each text), unfolded. */
function headerValues(texts: string[], name: string): string[] {
  return texts.flatMap((t) => {
    const head = t.replace(/\r\n?/g, "\n").replace(/^\s+/, "").split(/\n\n/)[0]!.replace(/\n[ \t]+/g, " ");
    return [...head.matchAll(new RegExp(`^${name}:[ \\t]*(.*)$`, "gim"))].map((m) => m[1]!.trim());
  });
}

/** The report's bytes after its own header block, as text. */
function bodyOf(raw: Buffer): string {
  const text = raw.toString("latin1");
  const end = text.search(/\r?\n\r?\n/);
  return end >= 0 ? text.slice(end) : "";
}

/** Values of header-shaped lines (`Name: value`, folded) anywhere in `texts`. */
function lineValues(texts: string[], names: string): string[] {
  return texts.flatMap((t) => [...t.replace(/\r\n?/g, "\n").replace(/\n[ \t]+/g, " ").matchAll(new RegExp(`^(?:${names}):[ \\t]*(.*)$`, "gim"))]
    .map((m) => m[1]!.trim()));
}

/** A header of the report itself, each occurrence. */
function headerList(mail: ParsedMail, name: string): string[] {
  return mail.headerLines.filter((h) => h.key === name).map((h) => h.line.slice(h.line.indexOf(":") + 1).trim());
}

function addressesIn(text: string): string[] {
  return [...text.matchAll(new RegExp(EMAIL.source, "g"))].map((m) => m[0].toLowerCase());
}

function unique(list: string[]): string[] {
  return [...new Set(list)];
}

/** One outcome per address: the first (a DSN lists each recipient once; a copy adds nothing). */
function dedupe(list: RecipientOutcome[]): RecipientOutcome[] {
  const seen = new Set<string>();
  return list.filter((r) => !seen.has(r.address) && seen.add(r.address));
}

function clip(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > MAX_DIAGNOSTIC ? `${flat.slice(0, MAX_DIAGNOSTIC - 1)}…` : flat;
}
