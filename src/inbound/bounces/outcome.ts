// A found recipient -> its outcome: the status code, the reply code and the reason, each read
// from what the report gave, and the diagnostic as stored.
import { classify } from "./classify.js";
import type { BounceReason } from "../../message/bounce-reasons.js";
import type { Found } from "./shapes/found.js";
import { clip, enhancedCode, flatten, replyCode } from "./text.js";

export type RecipientState = "bounced" | "delayed" | "complained";

export interface RecipientOutcome {
  /** Lower-cased address of the failed recipient (never the reporter or the sender). */
  address: string;
  /** "bounced": the reporter gave up, whatever its code; "delayed": still retried; "complained". */
  state: RecipientState;
  /** The enhanced status code ("5.1.1", "4.4.7"); the feedback type ("abuse") for a complaint. */
  status: string;
  /** Why, from the one taxonomy (reasons.ts); "complaint" for a complaint. */
  reason: BounceReason;
  /** The remote SMTP reply code ("550"), "" when the report gives none. */
  replyCode: string;
  /** The feedback type of a complaint ("abuse", "fraud"). */
  feedbackType?: string;
  /** What the report says about this recipient, one line, at most 1000 characters. */
  diagnostic: string;
  /** The SMTP command the refusal answered, when the report says ("RCPT TO", "end of DATA"). */
  stage?: "rcpt" | "data";
}

/** What of a recipient's text (and of the notice) the classifier reads. */
const CLASSIFIED_CHARS = 8192;

/** An enhanced code right after a reply code ("550 5.7.1", "550-'5.7.1"): the remote server's own. */
const REPLIED = /(?<![\w.])[245]\d\d[ -]['"(]?([245]\.\d{1,3}\.\d{1,3})(?!\.?\d)/;

/** Text that says something: words besides its addresses. */
export function worded(text: string): boolean {
  return /[a-z]{3}/i.test(text.slice(0, 2000).replace(/[^\s@]{1,200}@\S{1,255}/g, ""));
}

export function outcome(found: Found): RecipientOutcome {
  // A diagnostic without words ("X-Unix; 77", or the address alone) is stood in for by what the
  // notice says.
  const text = worded(found.text) || !found.context ? found.text : `${found.text}\n${found.context}`.trim();
  const reply = replyCode(found.text) ?? replyCode(text) ?? "";
  const replied = REPLIED.exec(found.text)?.[1];
  // The remote server's code over the reporter's summary (a Sendmail DSN says 5.1.1 for any
  // refused RCPT), unless it says less (X.0.0). When the report gives no enhanced code at all,
  // "5.0.0" or "4.0.0" (the reply's or the action's class), as before: no detail is made up.
  let status = (replied && enhancedCode(replied)) ?? enhancedCode(found.text);
  if (!status || (found.fieldStatus && /\.0\.0$/.test(status))) status = found.fieldStatus ?? status;
  status ??= found.action === "delayed" || reply.startsWith("4") ? "4.0.0" : "5.0.0";
  // Words are matched on one line: a reply's continuation lines ("550-5.7.26 ...") joined. The
  // reason is in the first lines of what is said; a hostile diagnostic is not read to its end.
  const flat = flatten(text.slice(0, CLASSIFIED_CHARS));
  const reason = classify({
    delayed: found.action === "delayed",
    status,
    replyCode: reply,
    text: flat,
    ...(found.fieldStatus ? { fieldStatus: found.fieldStatus } : {}),
    ...(found.context ? { context: flatten(found.context.slice(0, CLASSIFIED_CHARS)) } : {}),
  });
  const stage = refusedAt(found.text) ?? (found.context ? refusedAt(found.context) : undefined);
  return {
    address: found.address,
    state: found.action === "delayed" ? "delayed" : "bounced",
    status,
    reason,
    replyCode: reply,
    diagnostic: clip(flat || status),
    ...(stage ? { stage } : {}),
  };
}

/**
 * The command a refusal answered, as MTAs write it: Postfix "(in reply to RCPT TO command)" / "(in
 * reply to end of DATA command)", Sendmail's transcript ">>> RCPT To:" / ">>> DATA", Exim "after
 * RCPT TO:" / "after end of data", "(at DATA)". The first one said wins.
 */
export function refusedAt(text: string): "rcpt" | "data" | undefined {
  const m = /(?:in reply to|after|>>>) (?:the )?(rcpt|end of data|data)|\(at (rcpt|data)\)/i.exec(text.slice(0, CLASSIFIED_CHARS));
  if (!m) return undefined;
  return (m[1] ?? m[2]!).toLowerCase() === "rcpt" ? "rcpt" : "data";
}
