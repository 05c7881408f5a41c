// A report's leaves sorted by role: the human-readable notice (the prose an MTA writes above the
// returned message), the returned original, and the texts that may hold DSN fields. Many MTAs put
// all three in one text part, so the notice is cut where the returned copy begins.
import type { Mail } from "./mime.js";

export interface Notice {
  /** The prose of the report, above the returned message. */
  text: string;
  /** The returned original: message/rfc822 and header parts, and the copy quoted below the notice. */
  originals: string[];
  /** Where DSN fields may be: delivery-status parts and the notice's parts, whole. */
  fieldTexts: string[];
}

const ORIGINAL_TYPES = new Set([
  "message/rfc822",
  "text/rfc822-headers",
  "message/rfc822-headers",
  "message/global",
  "message/global-headers",
]);
const STATUS_TYPES = new Set(["message/delivery-status", "message/global-delivery-status", "message/feedback-report"]);

/**
 * Where the returned copy begins: a line announcing it ("--- Below this line is a copy of the
 * message.", "----- Unsent message follows -----", "Original message headers:", "Included is a copy
 * of the message header:") or a header block opening with Received or Return-Path.
 */
const COPY_MARKER = new RegExp(
  [
    String.raw`^[ \t]{0,20}-{2,80}[^\n]{0,60}\b(?:original|returned|unsent|enclosed|below this line|copy of|header of the)\b`,
    String.raw`^[ \t]{0,20}(?:original (?:message|mail)|message headers|included is a copy|below is a copy|the header of the original)\b[^\n]{0,60}(?:follows?|:|as follows)`,
    String.raw`^[^\n]{0,40}\bcopy of (?:the |your )?(?:original )?message\b[^\n]{0,60}(?:follows?|below|:|\.)[ \t]*$`,
    String.raw`^(?:Received|Return-Path):[^\n]*\n(?:[ \t]|[A-Za-z][A-Za-z0-9-]{0,40}:)`,
  ].join("|"),
  "im",
);

export function readNotice(mail: Mail): Notice {
  const notice: string[] = [];
  const originals: string[] = [];
  const fieldTexts: string[] = [];
  let returned = false;
  for (const part of mail.parts) {
    if (ORIGINAL_TYPES.has(part.type)) {
      originals.push(part.text);
      returned = true;
    } else if (STATUS_TYPES.has(part.type)) {
      fieldTexts.push(part.text);
    } else if (part.type.startsWith("text/")) {
      const text = unquote(part.type === "text/html" ? htmlText(part.text) : part.text);
      // A text part that is a header block (an attached copy of the headers) is the original.
      if (returned || /^(?:Received|Return-Path|From|Message-I[Dd]):/.test(text)) {
        originals.push(text);
        continue;
      }
      if (part.type === "text/html" && notice.length > 0) continue;
      fieldTexts.push(text);
      const cut = text.search(COPY_MARKER);
      notice.push(cut >= 0 ? text.slice(0, cut) : text);
      if (cut >= 0) {
        // The copy without the line announcing it (a header line opening it is kept).
        originals.push(text.slice(cut).replace(/^(?![A-Za-z][A-Za-z0-9-]{0,40}:)[^\n]*\n/, ""));
        returned = true;
      }
    }
  }
  return { text: notice.join("\n\n"), originals, fieldTexts };
}

/** A forwarded report ("> " on most lines) read as the report it quotes. */
function unquote(text: string): string {
  const lines = text.split("\n");
  const quoted = lines.filter((l) => l.startsWith(">")).length;
  const filled = lines.filter((l) => l.trim() !== "").length;
  return quoted * 2 >= filled && quoted > 2 ? lines.map((l) => l.replace(/^> ?/, "")).join("\n") : text;
}

/** The text of an HTML notice: styles and scripts dropped, then tags; breaks kept, common entities decoded. */
function htmlText(html: string): string {
  return html
    .replace(/<(?:style|script)\b[^<>]{0,200}>[^<]*/gi, "")
    .replace(/<(?:br|\/p|\/div|\/tr|\/li|\/h\d)[^<>]{0,200}>/gi, "\n")
    .replace(/<[^<>]{0,2000}>/g, "")
    .replace(/&nbsp;/g, " ")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, "&");
}
