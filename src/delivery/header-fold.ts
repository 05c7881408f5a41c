// RFC 5322 §2.1.1: a line is at most 998 bytes. Headers fold only at whitespace, so a value with
// a run of non-whitespace longer than a line cannot be folded as it is; such a value is sent as
// RFC 2047 encoded-words, each short, on lines of their own (receivers decode them back).

/** Longer runs than this (plus a header name) could not fit on one line. */
const MAX_RUN_BYTES = 900;
/** Source bytes per encoded-word: 60 base64 characters, a 72-byte word. */
const WORD_BYTES = 45;

/** The value as a prepared (already folded) header when its folding would not fit a line. */
export function foldedHeader(value: string): { prepared: true; value: string } | undefined {
  const longest = Math.max(0, ...value.split(/[ \t]+/).map((run) => Buffer.byteLength(run, "utf8")));
  return longest > MAX_RUN_BYTES ? { prepared: true, value: encodedWords(value) } : undefined;
}

/** `=?UTF-8?B?…?=` words, split at character boundaries, one per folded line. */
export function encodedWords(value: string): string {
  const words: string[] = [];
  let chunk = "";
  for (const ch of value) {
    if (Buffer.byteLength(chunk + ch, "utf8") > WORD_BYTES) {
      words.push(chunk);
      chunk = "";
    }
    chunk += ch;
  }
  if (chunk) words.push(chunk);
  return words.map((w) => `=?UTF-8?B?${Buffer.from(w, "utf8").toString("base64")}?=`).join("\r\n ");
}
