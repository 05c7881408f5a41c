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
export function contentType(value: string | undefined): { type: string; params: Record<string, string> } {
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
  const { type, params } = contentType(headers.get("content-type"));
  const boundary = params["boundary"];
  if (type.startsWith("multipart/") && boundary) {
    const sections = splitMultipart(body, boundary);
    if (sections) {
      if (depth < MAX_DEPTH) for (const s of sections) {
        const part = splitHead(s);
        walk(part.headers, part.body, depth + 1, out, budget);
      }
      return;
    }
  }
  // A multipart whose boundary never appears is read as the text it is.
  const leafType = type.startsWith("multipart/") ? "text/plain" : type;
  out.push({ type: leafType, headers, text: decodeBody(body, headers.get("content-transfer-encoding"), params["charset"]) });
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

/** Bytes in a declared charset; undeclared ones as UTF-8 when valid, else ISO-2022-JP or Latin-1. */
export function decodeCharset(bytes: Buffer, charset: string | undefined): string {
  const label = (charset ?? "").trim().toLowerCase();
  if (label !== "" && label !== "us-ascii") {
    try {
      return new TextDecoder(label).decode(bytes);
    } catch {
      // An unknown label: guessed below.
    }
  }
  if (bytes.includes("\x1b$B") || bytes.includes("\x1b$@")) return new TextDecoder("iso-2022-jp").decode(bytes);
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return bytes.toString("latin1");
  }
}

/** RFC 2047 encoded words ("=?utf-8?B?...?=") in a header value, decoded. */
export function decodeWords(value: string): string {
  return value
    .replace(/\?=\s+=\?/g, "?==?")
    .replace(/=\?([^?\s]{1,40})\?([BbQq])\?([^?\s]{0,2000})\?=/g, (_, charset: string, kind: string, data: string) => {
      const bytes = kind.toLowerCase() === "b"
        ? Buffer.from(data, "base64")
        : Buffer.from(decodeQuotedPrintable(data.replace(/_/g, " ")), "latin1");
      return decodeCharset(bytes, charset);
    });
}
