// RFC 3464 per-recipient field groups ("Final-Recipient: rfc822; a@b", "Action: failed", folded
// lines), as message/delivery-status parts write them, and as many MTAs write them in a text part.

/** One recipient's fields in a DSN, every occurrence of each (names lower-cased). */
export type RecipientFields = ReadonlyMap<string, readonly string[]>;

const RECIPIENT_FIELD = new Set(["final-recipient", "original-recipient"]);

/**
 * The per-recipient field groups of DSN text, at most `limit`. A Final-Recipient or
 * Original-Recipient line that the group being read already has starts the next group, so
 * recipient blocks written without the blank line between them are still told apart. A blank or
 * prose line ends a group; groups that name no recipient (the per-message fields) are dropped.
 */
export function recipientFields(text: string, limit: number): RecipientFields[] {
  const out: Map<string, string[]>[] = [];
  let current = new Map<string, string[]>();
  let last: string[] | undefined;
  const close = () => {
    if ([...RECIPIENT_FIELD].some((n) => current.has(n)) && out.length < limit) out.push(current);
    current = new Map();
    last = undefined;
  };
  for (const line of text.split("\n")) {
    const field = /^([A-Za-z][A-Za-z0-9-]{0,40}):[ \t]*(.*)$/.exec(line);
    if (field) {
      const name = field[1]!.toLowerCase();
      if (RECIPIENT_FIELD.has(name) && current.has(name)) close();
      const values = current.get(name) ?? [];
      values.push(field[2]!.trim());
      current.set(name, values);
      last = values;
    } else if (/^[ \t]+\S/.test(line) && last) {
      last[last.length - 1] += ` ${line.trim()}`;
    } else {
      close();
    }
  }
  close();
  return out;
}
