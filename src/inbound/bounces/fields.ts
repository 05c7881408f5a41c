// RFC 822-style field blocks ("Name: value", folded lines, blocks separated by a blank line), as
// message/delivery-status (RFC 3464) and message/feedback-report (RFC 5965) bodies are written.

export type FieldBlock = ReadonlyMap<string, string>;

/**
 * The blocks of `text` in which every line is a field or a continuation, names lower-cased and
 * the first occurrence kept. Prose paragraphs are skipped, so the text of a whole report (its
 * human-readable part too) can be given.
 */
export function fieldBlocks(text: string): FieldBlock[] {
  const blocks: FieldBlock[] = [];
  for (const paragraph of text.replace(/\r\n?/g, "\n").split(/\n[ \t]*\n/)) {
    const lines = paragraph.split("\n").filter((l) => l.trim() !== "");
    if (lines.length === 0 || !/^[A-Za-z][A-Za-z0-9-]*:/.test(lines[0]!)) continue;
    const fields = new Map<string, string>();
    let last: string | undefined;
    let prose = false;
    for (const line of lines) {
      const field = /^([A-Za-z][A-Za-z0-9-]*):[ \t]*(.*)$/.exec(line);
      if (field) {
        last = field[1]!.toLowerCase();
        if (!fields.has(last)) fields.set(last, field[2]!.trim());
        else last = undefined;
      } else if (/^[ \t]/.test(line) && last) {
        fields.set(last, `${fields.get(last)} ${line.trim()}`);
      } else if (!/^[ \t]/.test(line)) {
        prose = true;
        break;
      }
    }
    if (!prose) blocks.push(fields);
  }
  return blocks;
}

/** "rfc822; user@example.com" -> "user@example.com" (the address type is dropped). */
export function typedValue(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const i = value.indexOf(";");
  const v = (i >= 0 ? value.slice(i + 1) : value).trim().replace(/^<(.*)>$/, "$1");
  return v === "" ? undefined : v;
}
