// A small MIME reader for reports, bounded by construction: the leaves of a message in order,
// each decoded (base64, quoted-printable, charset) to text. Reports are often broken (a boundary
// that never comes, a part without its blank line, ISO-2022-JP undeclared): what cannot be read
// as MIME is kept as text, so the fields it holds can still be found.

/** Multipart nesting followed; deeper parts are dropped. Real reports nest 3 levels at most. */
export const MAX_DEPTH = 8;
/** Leaves kept per message; a report has a notice, a status part and the original. */
export const MAX_PARTS = 64;
/** Multipart sections walked per message, leaves or not: what nesting can cost is bounded too. */
const MAX_SECTIONS = 256;

export class Headers {
  constructor(private readonly list: readonly (readonly [string, string])[]) {}

  /** The first value of a header (names are case-insensitive), unfolded. */
  get(name: string): string | undefined {
    return this.list.find(([n]) => n === name)?.[1];
  }

  all(name: string): string[] {
    return this.list.filter(([n]) => n === name).map(([, v]) => v);
  }
}

export interface Part {
  /** Lower-cased media type, "text/plain" when the part declares none. */
  type: string;
  headers: Headers;
  text: string;
}

export interface Mail {
  headers: Headers;
  /** The leaves, in order: multiparts are walked, message/rfc822 parts are leaves (their raw text). */
  parts: Part[];
}

/** `raw` as a mail: its headers and its decoded leaves. */
export function readMail(raw: Buffer): Mail {
  const { headers, body } = splitHead(raw.toString("latin1").replace(/\r\n?/g, "\n"));
  const parts: Part[] = [];
  walk(headers, body, 0, parts, { sections: 0 });
  return { headers, parts };
}

/**
 * A header block and the body after it. The block ends at a blank line, or at a prose line (a
 * part that forgot its blank line); a part that starts with either has no headers. An mbox
 * "From " line at the very top is skipped.
 */
export function splitHead(text: string): { headers: Headers; body: string } {
  const list: [string, string][] = [];
  let at = text.startsWith("From ") ? text.indexOf("\n") + 1 || text.length : 0;
  while (at < text.length) {
    const nl = text.indexOf("\n", at);
    const end = nl < 0 ? text.length : nl;
    const line = text.slice(at, end);
    const field = /^([!-9;-~]{1,76}):[ \t]*(.*)$/.exec(line);
    if (field) list.push([field[1]!.toLowerCase(), field[2]!.trim()]);
    else if (/^[ \t]+\S/.test(line) && list.length > 0) list[list.length - 1]![1] += ` ${line.trim()}`;
    else if (line.trim() === "") return { headers: new Headers(list), body: text.slice(end + 1) };
    else break;
    at = end + 1;
  }
  return { headers: new Headers(list), body: text.slice(at) };
}

/** "multipart/mixed; boundary=x" -> the lower-cased type and the parameters (names lower-cased). */
function contentType(value: string | undefined): { type: string; params: Record<string, string> } {
  const [type = "", ...rest] = (value ?? "").split(";");
  const params: Record<string, string> = {};
  for (const p of rest) {
    const m = /^\s*([A-Za-z0-9_*-]{1,64})\s*=\s*"?([^"]*)"?\s*$/.exec(p);
    if (m) params[m[1]!.toLowerCase()] = m[2]!;
  }
  return { type: type.trim().toLowerCase() || "text/plain", params };
}

function walk(headers: Headers, body: string, depth: number, out: Part[], budget: { sections: number }): void {
  if (out.length >= MAX_PARTS || ++budget.sections > MAX_SECTIONS) return;
  const declared = headers.get("content-type");
  const guessed = declared === undefined && depth === 0;
  const { type, params } = guessed ? guessMultipart(body) : contentType(declared);
  const boundary = params.boundary;
  if (type.startsWith("multipart/") && boundary) {
    const sections = splitMultipart(body, boundary);
    if (sections) {
      // What came before a guessed first delimiter is prose the message had, not a preamble.
      if (guessed)
        out.push({
          type: "text/plain",
          headers: new Headers([]),
          text: decodeBody(body.slice(0, body.indexOf(`--${boundary}`)), undefined, undefined),
        });
      if (depth < MAX_DEPTH)
        for (const s of sections) {
          const part = splitHead(s);
          walk(part.headers, part.body, depth + 1, out, budget);
        }
      return;
    }
  }
  // A multipart whose boundary never appears is read as the text it is.
  const leafType = type.startsWith("multipart/") ? "text/plain" : type;
  out.push({ type: leafType, headers, text: decodeBody(body, headers.get("content-transfer-encoding"), params.charset) });
}

/**
 * A message that lost its Content-Type header (a report forwarded or stored carelessly) while its
 * body still has MIME delimiter lines: read as the multipart it was.
 */
function guessMultipart(body: string): { type: string; params: Record<string, string> } {
  // A delimiter has a letter or digit: a line of dashes is a separator.
  const first = /^--(?=[^\s]{0,70}[0-9A-Za-z])([0-9A-Za-z'()+_,./:=?-]{1,70})[ \t]*$/m.exec(body.slice(0, 8192))?.[1];
  return first && body.includes(`\n--${first}`, body.indexOf(first) + first.length)
    ? { type: "multipart/mixed", params: { boundary: first } }
    : { type: "text/plain", params: {} };
}

/** The sections between `--boundary` lines; undefined when the boundary is never found. */
function splitMultipart(body: string, boundary: string): string[] | undefined {
  const text = `\n${body}`;
  const delimiter = `\n--${boundary}`;
  // A delimiter line is the boundary alone (or closing "--", or trailing blanks), not a longer one.
  const next = (from: number): number => {
    let at = text.indexOf(delimiter, from);
    while (at >= 0 && !/^(--|[ \t]*(\n|$))/.test(text.slice(at + delimiter.length, at + delimiter.length + 2))) {
      at = text.indexOf(delimiter, at + delimiter.length);
    }
    return at;
  };
  let at = next(0);
  if (at < 0) return undefined;
  const sections: string[] = [];
  while (at >= 0 && sections.length < MAX_PARTS) {
    const after = at + delimiter.length;
    const lineEnd = text.indexOf("\n", after);
    if (text.startsWith("--", after) || lineEnd < 0) break;
    at = next(lineEnd);
    sections.push(text.slice(lineEnd + 1, at < 0 ? text.length : at));
  }
  return sections;
}

/** Body bytes (as a latin1 string) -> text, by transfer encoding and charset. */
function decodeBody(body: string, encoding: string | undefined, charset: string | undefined): string {
  const cte = (encoding ?? "").trim().toLowerCase();
  let bytes: Buffer;
  if (cte === "base64") bytes = Buffer.from(body.replace(/[^A-Za-z0-9+/=]/g, ""), "base64");
  else if (cte === "quoted-printable") bytes = Buffer.from(decodeQuotedPrintable(body), "latin1");
  else bytes = Buffer.from(body, "latin1");
  return decodeCharset(bytes, charset).replace(/\r\n?/g, "\n");
}

function decodeQuotedPrintable(text: string): string {
  return text.replace(/=\n/g, "").replace(/=([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/**
 * Bytes in their declared charset, strictly; when they are not valid in it (Japanese carriers
 * label EUC-JP text ISO-2022-JP), UTF-8 and the other Japanese charsets are tried; undeclared
 * ISO-2022-JP is recognised by its escapes. What no charset reads cleanly is read leniently.
 */
function decodeCharset(bytes: Buffer, charset: string | undefined): string {
  const label = (charset ?? "").trim().toLowerCase();
  const declared = label !== "" && label !== "us-ascii" ? [label] : [];
  const japanese =
    /jp|jis/.test(label) || bytes.includes("\x1b$B") || bytes.includes("\x1b$@") ? ["iso-2022-jp", "euc-jp", "shift_jis"] : [];
  for (const candidate of [...declared, "utf-8", ...japanese]) {
    try {
      return new TextDecoder(candidate, { fatal: true }).decode(bytes);
    } catch {
      // Not valid in this charset (or no such charset): the next is tried.
    }
  }
  try {
    return new TextDecoder(declared[0] ?? "latin1").decode(bytes);
  } catch {
    return bytes.toString("latin1");
  }
}

/** RFC 2047 encoded words ("=?utf-8?B?...?=") in a header value, decoded. */
export function decodeWords(value: string): string {
  return value
    .replace(/\?=\s+=\?/g, "?==?")
    .replace(/=\?([^?\s]{1,40})\?([BbQq])\?([^?\s]{0,2000})\?=/g, (_, charset: string, kind: string, data: string) => {
      const bytes =
        kind.toLowerCase() === "b" ? Buffer.from(data, "base64") : Buffer.from(decodeQuotedPrintable(data.replace(/_/g, " ")), "latin1");
      return decodeCharset(bytes, charset);
    });
}
