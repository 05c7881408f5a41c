// The class a report puts a recipient in, for its account: the reason's class (the taxonomy's
// default or the account's `suppression.reason_classes`), lowered to soft where the report does
// not show that the address is dead. Suppressing a good address hurts the sender's customer for
// good; waiting for the soft-bounce rule costs a few more bounces. So an address-level reason
// suppresses at once only with:
// - a permanent code: a reporter that gave up on a transient one (Gmail's 4.0.0 for a domain with
//   a Null MX or no DNS) may see it answered another day;
// - for an unknown user, a refusal of RCPT, or a code naming the mailbox (X.1.x) where the report
//   does not say DATA: refused at DATA, or with no more than a reply code, the same words come from
//   content filters that hide their reason behind them (the reading of mature classifiers:
//   "filtered").
// Complaints suppress as their class says: the recipient asked for it.
import { reasonClass, type ReasonClasses } from "../../config/reason-classes.js";
import type { ReasonClass } from "../../message/bounce-reasons.js";
import type { RecipientOutcome } from "./outcome.js";

export function reportClass(
  account: { reasonClasses?: ReasonClasses },
  r: Pick<RecipientOutcome, "reason" | "status" | "replyCode" | "stage">,
): ReasonClass {
  const cls = reasonClass(account, r.reason);
  if (cls !== "suppress" || r.reason === "complaint") return cls;
  const permanent = r.status.startsWith("5") && !r.replyCode.startsWith("4");
  if (!permanent) return "soft";
  if (r.reason === "user_unknown" && (r.stage === "data" || (r.stage !== "rcpt" && !/^5\.1\.\d+$/.test(r.status)))) return "soft";
  return cls;
}
