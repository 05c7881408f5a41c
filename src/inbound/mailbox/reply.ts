// Who a reply goes to and how it threads, from the message it answers. Computed once, at
// enqueue, and stored with the outbox row: retries keep it even when the parent is gone.
import { AddressError, formatMailbox, parseMailbox } from "../../message/address.js";
import { replyReferences, replySubject } from "../../message/threading.js";
import type { MailMessage } from "../../outbox/messages.js";
import { clipUtf8 } from "./text.js";

/** What a reply needs to know about its parent. */
export type ReplyParent = Pick<
  MailMessage,
  "direction" | "messageId" | "from" | "replyTo" | "to" | "cc" | "subject" | "inReplyTo" | "references"
>;

export interface ReplyHeaders {
  to: string[];
  cc: string[];
  subject: string;
  inReplyTo: string;
  references: string[];
}

/** RFC 5322 line length, and the limit Send applies to a subject. */
const MAX_SUBJECT_BYTES = 998;
/**
 * A References header longer than this keeps the thread's first id and drops the oldest after
 * it (as RFC 5322 §3.6.4 allows). Leaves room in the outbox column (64 KiB) for any id added.
 */
export const MAX_REFERENCES_CHARS = 16_000;

/**
 * The reply's recipients, subject and threading headers; undefined when the parent names no one
 * to answer. The recipient is the parent's Reply-To, else its From; a reply to our own message
 * (sent by us, or received with our address as From) goes to its To (else its Cc). reply_all adds
 * the parent's To and Cc. Our own address is never a recipient, nor is any address twice
 * (compared without case); addresses Send would refuse are skipped.
 */
export function replyHeaders(parent: ReplyParent, ownFrom: string, replyAll: boolean): ReplyHeaders | undefined {
  const own = addressKey(ownFrom);
  const ours = parent.direction === "outbound" || (own !== undefined && addressKey(parent.from ?? "") === own);
  const recipients = new Recipients(own);
  const sources = ours ? [parent.to, parent.cc] : [parent.replyTo, parent.from ? [parent.from] : []];
  let to: string[] = [];
  for (const source of sources) {
    to = recipients.take(source);
    if (to.length > 0) break;
  }
  if (to.length === 0) return undefined;
  let cc: string[] = [];
  if (replyAll) {
    to.push(...recipients.take(parent.to));
    cc = recipients.take(parent.cc);
  }
  // RFC 5322 §3.6.4: a parent without References but with one In-Reply-To id continues from it.
  const chain = parent.references.length > 0 ? parent.references : parent.inReplyTo ? [parent.inReplyTo] : [];
  return {
    to,
    cc,
    subject: clipUtf8(replySubject(parent.subject), MAX_SUBJECT_BYTES),
    inReplyTo: parent.messageId,
    references: trimReferences(replyReferences(chain, parent.messageId)),
  };
}

/** Keeps the first id and as many of the newest as fit in MAX_REFERENCES_CHARS. */
export function trimReferences(ids: string[]): string[] {
  if (ids.join(" ").length <= MAX_REFERENCES_CHARS) return ids;
  const kept: string[] = [];
  let length = ids[0]!.length;
  for (let i = ids.length - 1; i > 0; i--) {
    length += 1 + ids[i]!.length;
    if (length > MAX_REFERENCES_CHARS) break;
    kept.unshift(ids[i]!);
  }
  return [ids[0]!, ...kept];
}

/** Recipients in the order taken, each address once, never our own. */
class Recipients {
  private readonly seen = new Set<string>();

  constructor(own: string | undefined) {
    if (own !== undefined) this.seen.add(own);
  }

  /** The usable addresses of `list` not taken before, formatted as Send would store them. */
  take(list: readonly string[]): string[] {
    const out: string[] = [];
    for (const value of list) {
      const mailbox = mailboxOf(value);
      if (!mailbox || this.seen.has(mailbox.address.toLowerCase())) continue;
      this.seen.add(mailbox.address.toLowerCase());
      out.push(formatMailbox(mailbox));
    }
    return out;
  }
}

function mailboxOf(value: string) {
  try {
    return parseMailbox(value);
  } catch (err) {
    if (err instanceof AddressError) return undefined;
    throw err;
  }
}

function addressKey(value: string): string | undefined {
  return mailboxOf(value)?.address.toLowerCase();
}
