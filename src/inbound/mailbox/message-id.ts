// The Message-ID a received message is stored under.
import { createHash } from "node:crypto";
import { normalizeMessageId } from "../../message/threading.js";

/** The domain of ids made for mail that had none: ".invalid" (RFC 2606) names no real host. */
export const CONTENT_ID_DOMAIN = "ingest.invalid";

/**
 * The message's own Message-ID in "<local@domain>" form when it has a usable one (one id,
 * ASCII, as RFC 5322 defines msg-id); otherwise "<sha256hex@ingest.invalid>", a hash of the raw
 * bytes with line endings made CRLF and trailing line breaks dropped. The same bytes always
 * give the same id, so ingesting a message again finds the first copy.
 */
export function storedMessageId(headerValue: string | undefined, raw: Buffer): string {
  const id = headerValue ? normalizeMessageId(headerValue) : undefined;
  if (id && /^[\x21-\x7e]+$/.test(id)) return id;
  return contentHashId(raw);
}

export function contentHashId(raw: Buffer): string {
  const canonical = raw
    .toString("latin1")
    .replace(/\r?\n/g, "\r\n")
    .replace(/(\r\n)+$/, "");
  return `<${createHash("sha256").update(canonical, "latin1").digest("hex")}@${CONTENT_ID_DOMAIN}>`;
}
