// Reading a recipient report's BounceReason: its name as the README and the config write it
// ("user_unknown") and what it does to the address by default. Browser-safe (no Node imports), so
// the dashboard uses it too.
import { BounceReason } from "../../gen/email/v1/outbox_pb.js";
import { DEFAULT_REASON_CLASS, isBounceReason, type ReasonClass } from "../message/bounce-reasons.js";

export type { ReasonClass };

/** "user_unknown", "blocked", …; "" for UNSPECIFIED (no reason recorded) or a value this client does not know. */
export function bounceReasonName(reason: BounceReason): string {
  const name = reason === BounceReason.UNSPECIFIED ? undefined : BounceReason[reason]?.toLowerCase();
  return name !== undefined && isBounceReason(name) ? name : "";
}

/**
 * What the reason does to the address unless the account's `suppression.reason_classes` moves it:
 * "suppress" (listed at once), "soft" (counts toward the soft-bounce limit) or "sender" (never
 * suppressed: our mail was refused). undefined for UNSPECIFIED.
 */
export function defaultReasonClass(reason: BounceReason): ReasonClass | undefined {
  const name = bounceReasonName(reason);
  return isBounceReason(name) ? DEFAULT_REASON_CLASS[name] : undefined;
}
