// Applying the suppression list to messages about to be committed: one query per batch, and
// each message keeps its recipients as asked, with the suppressed ones listed to be left out.
import type { Queryable } from "../db/pool.js";
import type { NewMessage } from "./types.js";
import { parseMailbox } from "../message/address.js";
import { normalizeAddress, suppressedAmong } from "./suppression.js";

/** The address of one validated recipient ("Name <a@b>" or "a@b"), lower-cased. */
export function addressOf(recipient: string): string {
  return normalizeAddress(parseMailbox(recipient).address);
}

/** The addresses of a message's To, Cc and Bcc, lower-cased. */
export function recipientAddresses(m: Pick<NewMessage, "to" | "cc" | "bcc">): string[] {
  return [...m.to, ...m.cc, ...m.bcc].map(addressOf);
}

/** No recipient is left to send to: the row is committed SUPPRESSED, never attempted. */
export function everyRecipientSuppressed(m: Pick<NewMessage, "to" | "cc" | "bcc" | "suppressed">): boolean {
  if (!m.suppressed?.length) return false;
  const left = new Set(m.suppressed);
  return recipientAddresses(m).every((a) => left.has(a));
}

/** The messages with `suppressed` set to their recipients on their account's list (one query for all). */
export async function markSuppressed(db: Queryable, msgs: readonly NewMessage[]): Promise<NewMessage[]> {
  const pairs = msgs.flatMap((m) => recipientAddresses(m).map((a) => [m.accountId, a] as const));
  const listed = await suppressedAmong(db, pairs);
  if (listed.size === 0) return msgs.map((m) => (m.suppressed === undefined ? m : { ...m, suppressed: undefined }));
  return msgs.map((m) => {
    const suppressed = [...new Set(recipientAddresses(m).filter((a) => listed.has(`${m.accountId}\u0000${a}`)))];
    return { ...m, suppressed: suppressed.length > 0 ? suppressed : undefined };
  });
}
