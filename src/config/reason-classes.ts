// What each bounce reason does for one account: the taxonomy's default class, unless the account's
// `suppression.reason_classes` moves the reason to another ({ "mailbox_full": "suppress" }).
// The config file's reader calls parseReasonClasses; apply.ts and the sender signal read the
// result through reasonClass.
import { closest } from "./errors.js";
import { BOUNCE_REASONS, DEFAULT_REASON_CLASS, isBounceReason, type BounceReason, type ReasonClass } from "../message/bounce-reasons.js";

export const REASON_CLASSES: readonly ReasonClass[] = ["suppress", "soft", "sender"];

export type ReasonClasses = Readonly<Record<BounceReason, ReasonClass>>;

/**
 * The default classes with `raw`'s overrides, or the error naming the first bad entry by its full
 * path (`where` is the object's, e.g. "account 1: suppression.reason_classes").
 */
export function parseReasonClasses(raw: unknown, where: string): { classes: ReasonClasses } | { error: string } {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    return { error: `${where} must be an object of reason: class, e.g. { "mailbox_full": "suppress" }` };
  }
  const classes: Record<BounceReason, ReasonClass> = { ...DEFAULT_REASON_CLASS };
  for (const [reason, value] of Object.entries(raw)) {
    if (!isBounceReason(reason)) return { error: `${where}.${reason}: unknown bounce reason${hint(reason, BOUNCE_REASONS)}` };
    if (typeof value !== "string" || !(REASON_CLASSES as readonly string[]).includes(value)) {
      const near = typeof value === "string" ? hint(value, REASON_CLASSES) : "";
      return { error: `${where}.${reason}: ${JSON.stringify(value)} is not a class${near}; one of ${REASON_CLASSES.join(", ")}` };
    }
    classes[reason] = value as ReasonClass;
  }
  return { classes: Object.freeze(classes) };
}

/** The class of `reason` for an account (its overrides, else the default). */
export function reasonClass(account: { reasonClasses?: ReasonClasses }, reason: BounceReason): ReasonClass {
  return (account.reasonClasses ?? DEFAULT_REASON_CLASS)[reason];
}

/** The reasons of one class for an account, in taxonomy order. */
export function reasonsOfClass(account: { reasonClasses?: ReasonClasses }, cls: ReasonClass): BounceReason[] {
  return BOUNCE_REASONS.filter((r) => reasonClass(account, r) === cls);
}

function hint(value: string, known: readonly string[]): string {
  const near = closest(value, known);
  return near ? ` (did you mean ${near}?)` : "";
}
