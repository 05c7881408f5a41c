// Header text taken from received mail, made safe to store and to send again.

/** Control characters (a decoded encoded-word may carry CR/LF) become spaces; ends trimmed. */
export function headerText(value: string): string {
  return value.replace(/[\p{Cc}\u2028\u2029]/gu, " ").trim();
}

/** At most maxBytes of UTF-8, cut between characters. */
export function clipUtf8(value: string, maxBytes: number): string {
  if (Buffer.byteLength(value, "utf8") <= maxBytes) return value;
  let bytes = 0;
  let out = "";
  for (const ch of value) {
    bytes += Buffer.byteLength(ch, "utf8");
    if (bytes > maxBytes) break;
    out += ch;
  }
  return out;
}
