// What an applied report tells operators, once its transaction committed: every recipient counted
// by account, reason and class (email_outbox_recipient_reports_total), and for sender-side
// refusals — our IP, domain or message refused, never the recipient's fault — one warn line per
// reason: "mail from account N is being refused". AccountService.ListAccounts reads the same from
// the database (refusals.ts).
import { redactAddressesIn, type Logger } from "../../lib/log.js";
import type { Applied, AppliedRecipient } from "./apply.js";
import type { BounceMetrics } from "../../metrics/metrics.js";
import type { BounceReason } from "../../message/bounce-reasons.js";

export interface ReportSignals {
  metrics: BounceMetrics;
  log: Logger;
}

/** Domains named in one warn line at most: a report may name thousands of recipients. */
const MAX_DOMAINS = 5;

export function signalReport(signals: ReportSignals, accountId: number, applied: Applied): void {
  const refused = new Map<BounceReason, AppliedRecipient[]>();
  for (const r of applied.recipients) {
    signals.metrics.recipientReported(accountId, r.reason, r.reasonClass);
    if (r.reasonClass === "sender") refused.set(r.reason, [...(refused.get(r.reason) ?? []), r]);
  }
  for (const [reason, recipients] of refused) {
    const domains = [...new Set(recipients.map((r) => domainOf(r.address)))];
    signals.log.warn(
      {
        account_id: accountId,
        reason,
        outbox_id: applied.outboxId,
        recipients: recipients.length,
        domains: domains.slice(0, MAX_DOMAINS),
        diagnostic: redactAddressesIn(recipients[0]!.diagnostic),
      },
      "mail refused for a sender-side reason: the recipients stay unsuppressed",
    );
  }
}

export function domainOf(address: string): string {
  return address.slice(address.lastIndexOf("@") + 1);
}
