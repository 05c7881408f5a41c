// Small text tools shared by the report shapes: addresses, status and reply codes, clipping.
// Every pattern here is linear: no nested quantifier, every gap bounded.

const LOCAL = String.raw`[A-Za-z0-9.!#$%&'*+/=?^_\`{|}~-]{1,64}|"[^"\n]{1,64}"`;
const LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
/** An address in free text: a dotted domain, so "user@host" in prose is not taken for one. */
const EMAIL = new RegExp(String.raw`(?:${LOCAL})@${LABEL}(?:\.${LABEL}){1,8}`, "g");
/** An address in a field that can only hold one (Final-Recipient): a bare host is allowed. */
const FIELD_EMAIL = new RegExp(String.raw`^(?:${LOCAL})@${LABEL}(?:\.${LABEL}){0,8}$`);

/** The addresses in `text`, in order, lower-cased, as found (duplicates kept). */
export function addressesIn(text: string): { address: string; at: number }[] {
  return [...text.matchAll(EMAIL)].map((m) => ({ address: m[0].toLowerCase(), at: m.index }));
}

/**
 * "rfc822; <User@Example.org>" -> "user@example.org" (a comment after it is dropped); undefined
 * when the value is no address (a pipe, a file, a local name).
 */
export function fieldAddress(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const i = value.indexOf(";");
  const v = (i >= 0 ? value.slice(i + 1) : value)
    .replace(/\s\([^()]{0,200}\)\s*$/, "")
    .trim()
    .replace(/^<(.*)>$/, "$1")
    .trim();
  return FIELD_EMAIL.test(v) ? v.toLowerCase() : undefined;
}

/** An RFC 3463 enhanced status code ("5.1.1"), not a piece of an IP address or a version. */
const ENHANCED = /(?<![\w.])([245])\.(\d{1,3})\.(\d{1,3})(?!\.?\d)/;
/** An SMTP reply code at the start of a reply ("550 ", "550-", "550:"), not a number in prose. */
const REPLY = /(?<![\w.\-:/])([245][0-5]\d)(?=[ :-]|$)/m;

export function enhancedCode(text: string): string | undefined {
  const m = ENHANCED.exec(text);
  return m ? `${m[1]}.${Number(m[2])}.${Number(m[3])}` : undefined;
}

export function replyCode(text: string): string | undefined {
  return REPLY.exec(text)?.[1];
}

/** Diagnostic text as stored: one line, multi-line replies joined ("550-5.7.1 a\n550 5.7.1 b" -> "550 5.7.1 a b"). */
export function flatten(text: string): string {
  const out: string[] = [];
  let continued = false;
  for (const line of text.split("\n")) {
    const l = line.trim();
    if (l === "") continue;
    const m = /^([245]\d\d)([ -])(?:[245]\.\d{1,3}\.\d{1,3}(?: |$))?/.exec(l);
    // A continuation line repeats the reply (and enhanced) code: it is dropped.
    if (continued && m) out.push(l.slice(m[0].length));
    else out.push(m?.[2] === "-" ? `${m[1]} ${l.slice(4)}` : l);
    continued = m?.[2] === "-";
  }
  return out.join(" ").replace(/\s+/g, " ").trim();
}

const MAX_DIAGNOSTIC = 1000;

export function clip(text: string, max = MAX_DIAGNOSTIC): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

export function unique<T>(list: Iterable<T>): T[] {
  return [...new Set(list)];
}
