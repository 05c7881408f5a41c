// Amazon SES bounce and complaint notifications delivered by mail (through SNS): a JSON body,
// bare or wrapped in the SNS envelope ({"Type":"Notification","Message":"{...}"}).
import type { Notice } from "../notice.js";
import { addressesIn, enhancedCode, unique } from "../text.js";
import { dedupe, MAX_RECIPIENTS, type Found } from "./found.js";
import type { Complaint } from "./arf.js";

/** JSON bodies larger than this are not notifications (SES sends a few kilobytes). */
const MAX_JSON = 256 * 1024;

export type SesNotification =
  | { kind: "bounce"; found: Found[]; messageIds: string[] }
  | { kind: "complaint"; complaint: Complaint; messageIds: string[] };

type Json = Record<string, unknown>;

export function sesNotification(notice: Notice): SesNotification | undefined {
  const body = notice.text.trim();
  if (!body.startsWith("{")) return undefined;
  const end = body.lastIndexOf("}");
  if (end < 0 || end > MAX_JSON) return undefined;
  // Mail transports fold long lines as "!\n " (Sendmail's 990-character limit): unfolded first.
  let json = parse(body.slice(0, end + 1).replace(/!\n /g, ""));
  if (typeof json?.Message === "string") json = parse(json.Message);
  if (!json) return undefined;
  const type = String(json.notificationType ?? json.eventType ?? "");
  const mail = object(json.mail);
  const messageIds = messageIdsOf(mail);
  if (type === "Bounce") {
    const bounce = object(json.bounce);
    const transient = bounce?.bounceType === "Transient";
    const found = list(bounce?.bouncedRecipients).flatMap((r): Found[] => {
      const address = addressesIn(String(r.emailAddress ?? ""))[0]?.address;
      if (!address) return [];
      const fieldStatus = enhancedCode(String(r.status ?? ""));
      const action = r.action === "delayed" ? "delayed" : "failed";
      const text = String(r.diagnosticCode ?? (transient ? "transient bounce" : "")).replace(/^[A-Za-z0-9-]{1,20};\s*/, "");
      return [{ address, action, text, ...(fieldStatus ? { fieldStatus } : {}) }];
    });
    return { kind: "bounce", found: dedupe(found), messageIds };
  }
  if (type === "Complaint") {
    const complaint = object(json.complaint);
    const named = unique(
      list(complaint?.complainedRecipients).flatMap((r) => addressesIn(String(r.emailAddress ?? "")).map((a) => a.address)),
    ).slice(0, MAX_RECIPIENTS);
    const feedbackType =
      String(complaint?.complaintFeedbackType ?? "abuse")
        .toLowerCase()
        .replace(/[^a-z0-9-]/g, "")
        .slice(0, 32) || "abuse";
    const by = String(complaint?.userAgent ?? "Amazon SES").slice(0, 200);
    return {
      kind: "complaint",
      complaint: { feedbackType, named, diagnostic: `feedback report (${feedbackType}) from ${by}` },
      messageIds,
    };
  }
  return undefined;
}

function parse(text: string): Json | undefined {
  try {
    return object(JSON.parse(text));
  } catch {
    return undefined;
  }
}

function object(value: unknown): Json | undefined {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Json) : undefined;
}

function list(value: unknown): Json[] {
  return Array.isArray(value)
    ? value
        .slice(0, MAX_RECIPIENTS)
        .map(object)
        .filter((v): v is Json => v !== undefined)
    : [];
}

/** The original's Message-ID, from the headers SES copies into the notification. */
function messageIdsOf(mail: Json | undefined): string[] {
  const common = object(mail?.commonHeaders);
  const headers = list(mail?.headers)
    .filter((h) => String(h.name).toLowerCase() === "message-id")
    .map((h) => String(h.value));
  return unique([String(common?.messageId ?? ""), ...headers].flatMap((v) => v.match(/<[^<>\s]+>/g) ?? []));
}
