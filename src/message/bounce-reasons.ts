// The one taxonomy of why a recipient failed, and what each reason does to the address. The
// parser (report.ts, classify.ts) names a reason for every failed recipient; apply.ts decides
// suppression from the reason's class, never from the status code's first digit.

/** Why a recipient failed, as mature bounce classifiers name it. */
export const BOUNCE_REASONS = [
  "user_unknown", // the mailbox does not exist
  "host_unknown", // the domain does not exist or has no mail host
  "has_moved", // the address moved and gives no forward
  "not_accepted", // the domain accepts no mail (null MX)
  "mailbox_full", // over quota
  "suspended", // the account is disabled or inactive
  "blocked", // our IP or host refused or listed (RBL, reputation, rDNS)
  "spam_detected", // the message was judged to be spam
  "policy_violation", // DMARC/SPF/DKIM, local policy, security
  "content_error", // the message's content or format was refused
  "virus_detected", // the message carried a virus
  "message_too_big", // over the size limit
  "rate_limited", // too many connections, messages or recipients
  "expired", // the reporting MTA gave up after retrying
  "network_error", // DNS, routing or connection failures on the way
  "system_error", // the receiving system failed (disk full, loop, mailer error)
  "rejected", // the sender (envelope from) refused, or relaying denied
  "syntax_error", // the receiving MTA refused a command's syntax
  "filtered", // refused by a filter of the recipient's (not spam)
  "delayed", // a delay notice: still being retried
  "undetermined", // a failure the text does not explain
  "complaint", // a feedback report (ARF, provider complaint)
] as const;

export type BounceReason = (typeof BOUNCE_REASONS)[number];

/**
 * What a reason does to the address:
 * - `suppress`: the address is dead (or its owner complained): suppressed at once;
 * - `soft`: a temporary state of the mailbox or the way to it: counts toward the soft-bounce rule;
 * - `sender`: a problem of our IP, domain or message: never suppresses the recipient, raises the
 *   account-level signal instead.
 */
export type ReasonClass = "suppress" | "soft" | "sender";

export const DEFAULT_REASON_CLASS: Readonly<Record<BounceReason, ReasonClass>> = {
  user_unknown: "suppress",
  host_unknown: "suppress",
  has_moved: "suppress",
  not_accepted: "suppress",
  complaint: "suppress",
  mailbox_full: "soft",
  suspended: "soft",
  rate_limited: "soft",
  expired: "soft",
  network_error: "soft",
  system_error: "soft",
  delayed: "soft",
  undetermined: "soft",
  blocked: "sender",
  spam_detected: "sender",
  policy_violation: "sender",
  content_error: "sender",
  virus_detected: "sender",
  message_too_big: "sender",
  rejected: "sender",
  syntax_error: "sender",
  filtered: "sender",
};

export function isBounceReason(value: string): value is BounceReason {
  return (BOUNCE_REASONS as readonly string[]).includes(value);
}
