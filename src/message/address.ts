// Validation and normalisation of the address- and header-bearing inputs of a
// Send request. Everything here runs before anything is stored, so a bad
// address is rejected at request time instead of failing later in the sender.
//
// Supported mailbox forms (a strict subset of RFC 5322 `mailbox`):
//   a@example.com
//   <a@example.com>
//   Name <a@example.com>
//   "Doe, Jane" <a@example.com>      (quoted display name, \" and \\ escapes)
// Comments, group syntax, address lists and IP-literal domains are rejected.

import { domainToASCII, domainToUnicode } from "node:url";

export type AddressErrorReason = "ADDRESS_EMPTY" | "ADDRESS_INVALID" | "ADDRESS_TOO_LONG" | "HEADER_INJECTION";

export class AddressError extends Error {
  override readonly name = "AddressError";
  readonly reason: AddressErrorReason;

  // Messages never echo the input: it may be huge or contain CR/LF that would
  // end up in logs or gRPC status details.
  constructor(reason: AddressErrorReason, message: string) {
    super(message);
    this.reason = reason;
  }
}

export interface Mailbox {
  /** Decoded display name, "" when none. */
  name: string;
  /** addr-spec: local part as given, domain lower-cased ASCII (punycode). */
  address: string;
}

const MAX_INPUT_CHARS = 998; // RFC 5322 line length limit
const MAX_ADDRESS_OCTETS = 254; // RFC 5321 path (256) minus the angle brackets
const MAX_LOCAL_OCTETS = 64;
const MAX_DOMAIN_OCTETS = 255;
const MAX_LABEL_OCTETS = 63;

// The one rule for request text bound for a header: no C0 (TAB included), DEL or C1 control, no
// U+2028/U+2029 (which JavaScript and some parsers treat as line terminators).
const CONTROL_CHAR = /[\p{Cc}\u2028\u2029]/u;
// Nor may it reorder itself where a reader is shown it (a subject, a display name, a filename, a
// custom header a client displays): bidirectional embeddings, overrides and isolates make
// "invoice\u202Etxt.exe" display as "invoiceexe.txt". Right-to-left text needs none of them.
const BIDI_CONTROL = /[\u202A-\u202E\u2066-\u2069]/u;
// C0 controls except TAB: the least a header value built from parsed mail must meet.
const HEADER_UNSAFE = /[\x00-\x08\x0a-\x1f]/;
// A lone surrogate cannot be encoded as UTF-8.
const LONE_SURROGATE = /\p{Cs}/u;

// The "-" must stay last: ATEXT is spliced into character classes.
const ATEXT = "A-Za-z0-9!#$%&'*+/=?^_`{|}~-";
// Each repetition starts with a dot, which ATEXT excludes, so this is linear.
const DOT_ATOM = new RegExp(`^[${ATEXT}]+(?:\\.[${ATEXT}]+)*$`);
// Sticky: matches an unquoted display-name word at lastIndex.
const PHRASE_ATOM = new RegExp(`[.\\u0080-\\uffff${ATEXT}]+`, "y");
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;
// Before IDN conversion: ASCII letters, digits, '.', '-' or any non-ASCII.
// domainToASCII would otherwise silently percent-decode or map other ASCII.
const DOMAIN_BAD_CHAR = /[^A-Za-z0-9.\-\u0080-\u{10ffff}]/u;
const LDH_LABEL = /^[a-z0-9-]+$/;
const DIGITS = /^[0-9]+$/;

function invalid(message: string): AddressError {
  return new AddressError("ADDRESS_INVALID", message);
}

function tooLong(message: string): AddressError {
  return new AddressError("ADDRESS_TOO_LONG", message);
}

export function utf8Length(s: string): number {
  return Buffer.byteLength(s, "utf8");
}

/**
 * The one rule for text a client sets that goes into a header (subject, display names, custom
 * header values, filenames): throws HEADER_INJECTION for C0 (TAB too), DEL, C1, U+2028/U+2029,
 * lone surrogates and bidirectional controls.
 */
export function assertHeaderSafe(value: string, field: string): void {
  if (CONTROL_CHAR.test(value) || LONE_SURROGATE.test(value)) {
    throw new AddressError("HEADER_INJECTION", `${field} must not contain control characters (CR, LF, NUL, TAB, DEL, C1, U+2028, ...)`);
  }
  if (BIDI_CONTROL.test(value)) {
    throw new AddressError("HEADER_INJECTION", `${field} must not contain bidirectional control characters (U+202A-U+202E, U+2066-U+2069)`);
  }
}

/** Parses exactly one mailbox; throws AddressError otherwise. */
export function parseMailbox(input: string): Mailbox {
  // Length first, so hostile multi-megabyte inputs are rejected without scanning.
  if (input.length > MAX_INPUT_CHARS) {
    throw tooLong(`address input exceeds ${MAX_INPUT_CHARS} characters`);
  }
  if (CONTROL_CHAR.test(input)) {
    throw new AddressError("HEADER_INJECTION", "address must not contain control characters (CR, LF, NUL, ...)");
  }
  if (LONE_SURROGATE.test(input)) throw invalid("address is not valid Unicode");

  const s = input.trim();
  if (s === "") throw new AddressError("ADDRESS_EMPTY", "address is empty");

  if (!s.endsWith(">")) return { name: "", address: parseAddrSpec(s) };

  const { name, end } = parseDisplayName(s);
  assertHeaderSafe(name, "display name");
  return { name, address: parseAddrSpec(s.slice(end + 1, -1).trim()) };
}

/**
 * Formats a mailbox for nodemailer / a header. The name is always quoted so
 * specials in it cannot change the meaning; nodemailer RFC 2047-encodes
 * non-ASCII names itself.
 */
export function formatMailbox(m: Mailbox): string {
  // Mailbox values may be built by hand (from parsed mail) rather than by parseMailbox.
  for (const [value, what] of [
    [m.address, "address"],
    [m.name, "display name"],
  ] as const) {
    if (HEADER_UNSAFE.test(value))
      throw new AddressError("HEADER_INJECTION", `${what} must not contain control characters (CR, LF, NUL, ...)`);
  }
  if (m.name === "") return m.address;
  return `"${m.name.replace(/["\\]/g, "\\$&")}" <${m.address}>`;
}

// Display name: words (atoms or quoted strings) separated by spaces, up to the
// '<' of the angle address. Words are joined with a single space. Unquoted
// words may contain atext, '.' (RFC 5322 obs-phrase, as in "John Q. Public")
// and any non-ASCII character; other specials must be quoted.
function parseDisplayName(s: string): { name: string; end: number } {
  const words: string[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s.charAt(i);
    if (c === "<") return { name: words.join(" "), end: i };
    if (c === " ") {
      i++;
    } else if (c === '"') {
      const q = readQuoted(s, i);
      words.push(q.text);
      i = q.end;
    } else {
      PHRASE_ATOM.lastIndex = i;
      const atom = PHRASE_ATOM.exec(s)?.[0];
      if (atom === undefined) throw invalid(`display name contains '${c}'; it must be quoted`);
      words.push(atom);
      i += atom.length;
    }
  }
  throw invalid("missing '<' before the address");
}

// Reads a quoted string starting at s[start] === '"'. Returns the unescaped
// text and the index just past the closing quote.
function readQuoted(s: string, start: number): { text: string; end: number } {
  let text = "";
  for (let i = start + 1; i < s.length; i++) {
    let c = s.charAt(i);
    if (c === '"') return { text, end: i + 1 };
    if (c === "\\") {
      i++;
      if (i >= s.length) break;
      c = s.charAt(i);
    }
    text += c;
  }
  throw invalid("unterminated quoted string");
}

function parseAddrSpec(spec: string): string {
  if (spec === "") throw invalid("missing address");
  // The domain cannot contain '@', but a quoted local part can.
  const at = spec.lastIndexOf("@");
  if (at < 0) throw invalid("address is missing '@'");
  const local = spec.slice(0, at);
  checkLocalPart(local);
  const domain = normaliseDomain(spec.slice(at + 1));
  const address = `${local}@${domain}`;
  if (utf8Length(address) > MAX_ADDRESS_OCTETS) {
    throw tooLong(`address exceeds ${MAX_ADDRESS_OCTETS} octets`);
  }
  return address;
}

// Local parts are ASCII only: SMTPUTF8 local parts are rejected because the
// relay may not support SMTPUTF8, and we would rather refuse the request than
// store a message that can never be delivered. (Non-ASCII domains are fine:
// they are converted to punycode.)
function checkLocalPart(local: string): void {
  if (local === "") throw invalid("address is missing the local part");
  if (!PRINTABLE_ASCII.test(local)) throw invalid("local part must be ASCII");
  if (local.length > MAX_LOCAL_OCTETS) {
    throw tooLong(`local part exceeds ${MAX_LOCAL_OCTETS} octets`);
  }
  if (local.startsWith('"')) {
    const q = readQuoted(local, 0);
    if (q.end !== local.length) throw invalid("invalid quoted local part");
    if (q.text === "") throw invalid("local part is empty");
  } else if (!DOT_ATOM.test(local)) {
    throw invalid("invalid local part");
  }
}

function normaliseDomain(domain: string): string {
  if (domain === "") throw invalid("address is missing the domain");
  if (domain.startsWith("[")) throw invalid("IP-literal domains are not accepted");
  // NFKD too: a character such as U+2260 (≠) decomposes to "=" plus a combining mark, which
  // domainToASCII (non-STD3) would otherwise encode into a punycode label.
  if (DOMAIN_BAD_CHAR.test(domain) || DOMAIN_BAD_CHAR.test(domain.normalize("NFKD"))) {
    throw invalid("domain contains an invalid character");
  }

  // Lower-cases and applies IDNA (UTS #46); returns "" when conversion fails.
  const ascii = domainToASCII(domain);
  if (ascii === "") throw invalid("domain is not a valid host name");
  // Node 20 answers "" for a label of invalid punycode ("xn--zz"); Node 24 passes it through,
  // and decoding leaves it as it was, where a valid one becomes Unicode.
  if (
    domainToUnicode(ascii)
      .split(".")
      .some((label) => label.startsWith("xn--"))
  ) {
    throw invalid("domain is not a valid host name");
  }
  if (ascii.length > MAX_DOMAIN_OCTETS) {
    throw tooLong(`domain exceeds ${MAX_DOMAIN_OCTETS} octets`);
  }
  const labels = ascii.split(".");
  if (labels.length < 2) throw invalid("domain must contain a dot");
  for (const label of labels) {
    if (label === "") throw invalid("domain has an empty label");
    if (label.length > MAX_LABEL_OCTETS) {
      throw tooLong(`domain label exceeds ${MAX_LABEL_OCTETS} octets`);
    }
    if (!LDH_LABEL.test(label) || label.startsWith("-") || label.endsWith("-")) {
      throw invalid("domain has an invalid label");
    }
  }
  // An all-numeric TLD means an IPv4 address (domainToASCII even turns
  // "0x7f.1" into "127.0.0.1"); those are not accepted as domains.
  if (DIGITS.test(labels[labels.length - 1] ?? "")) {
    throw invalid("IP addresses are not accepted as domains");
  }
  return ascii;
}
