// Complaints: RFC 5965 feedback reports (every Original-Rcpt-To and Removal-Recipient they name),
// and the complaints Hotmail/Outlook send as a plain message with the original attached, which
// names its recipient in X-HmXmrOriginalRecipient.
import type { Mail } from "../mime.js";
import { splitHead } from "../mime.js";
import type { Notice } from "../notice.js";
import { addressesIn, clip, fieldAddress, unique } from "../text.js";
import { MAX_RECIPIENTS } from "./found.js";

export interface Complaint {
  feedbackType: string;
  /** Addresses the report names; empty when it is redacted (the original's To is used then). */
  named: string[];
  diagnostic: string;
}

export function complaintIn(mail: Mail, notice: Notice): Complaint | undefined {
  const feedback =
    mail.parts.find((p) => p.type === "message/feedback-report")?.text ?? notice.fieldTexts.find((t) => /^Feedback-Type:/im.test(t));
  if (feedback !== undefined) return feedbackReport(feedback);
  // Hotmail/Outlook (JMRP): the complained-about message, with the address it was delivered to.
  const marked = notice.originals.flatMap((o) => splitHead(o).headers.all("x-hmxmroriginalrecipient"));
  if (marked.length > 0) {
    const named = unique(marked.map((v) => fieldAddress(v)).filter((a): a is string => a !== undefined));
    return { feedbackType: "abuse", named, diagnostic: `complaint (abuse) from ${fromOf(mail)}` };
  }
  return undefined;
}

function feedbackReport(text: string): Complaint {
  const values = (name: string) => [...text.matchAll(new RegExp(`^${name}:[ \\t]*(.*)$`, "gim"))].map((m) => m[1]!.trim());
  const type =
    (values("Feedback-Type")[0] ?? "abuse")
      .toLowerCase()
      .replace(/[^a-z0-9-]/g, "")
      .slice(0, 32) || "abuse";
  const named = unique(
    [...values("Original-Rcpt-To"), ...values("Removal-Recipient")].flatMap((v) => fieldAddress(v) ?? addressesIn(v).map((a) => a.address)),
  ).slice(0, MAX_RECIPIENTS);
  const by = values("Reporting-MTA")[0] ?? values("User-Agent")[0];
  const from = by ? ` from ${by.replace(/^[A-Za-z0-9-]{1,20};\s*/, "")}` : "";
  return { feedbackType: type, named, diagnostic: clip(`feedback report (${type})${from}`) };
}

function fromOf(mail: Mail): string {
  return addressesIn(mail.headers.get("from") ?? "")[0]?.address ?? "the mailbox provider";
}
