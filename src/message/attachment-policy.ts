// What the service accepts as an attachment: size limits, allowed content types, and the reasons
// (with the reference's messages) it gives when it refuses one.

export interface AttachmentPolicy {
  /** Largest single attachment, in bytes; exactly this size is allowed. */
  maxSizeBytes: number;
  /** Largest sum of all attachments of one message, in bytes. */
  maxTotalBytes: number;
  /** Bare "type/subtype" values, lower case. */
  allowedContentTypes: readonly string[];
}

export const DEFAULT_ATTACHMENT_POLICY: AttachmentPolicy = Object.freeze({
  maxSizeBytes: 26_214_400,
  // Room for one attachment of the maximum size and a few small ones, and still below the
  // request size limit when the bytes travel as base64 in Connect JSON (32 MiB → 42.7 MiB).
  maxTotalBytes: 33_554_432,
  allowedContentTypes: Object.freeze(["application/pdf", "image/jpeg", "image/png", "text/plain", "application/zip"]),
});

/** More would make a message no mail client renders usefully; it also bounds rows per message. */
export const MAX_ATTACHMENTS = 32;
export const MAX_FILENAME_CHARS = 255;

/** Every reason an attachment is refused for, with its message (the reference's where it has one). */
export const ATTACHMENT_REFUSALS = {
  ATTACHMENT_SOURCE_INVALID: "attachment requires exactly one of base64 or path",
  ATTACHMENT_TOO_LARGE: "attachment exceeds size limit",
  ATTACHMENTS_TOO_LARGE: "attachments exceed total size limit",
  TOO_MANY_ATTACHMENTS: `at most ${MAX_ATTACHMENTS} attachments per message`,
  ATTACHMENT_CONTENT_TYPE_NOT_ALLOWED: "attachment content type is not allowed",
  ATTACHMENT_STORE_NOT_CONFIGURED: "attachment store not configured",
  ATTACHMENT_PATH_ESCAPES_ROOT: "attachment path escapes storage root",
  ATTACHMENT_NOT_FOUND: "attachment file not found",
  ATTACHMENT_UNREADABLE: "attachment file cannot be read",
  ATTACHMENT_FILENAME_INVALID: `attachment filename must be 1 to ${MAX_FILENAME_CHARS} characters of valid text`,
  ATTACHMENT_CONTENT_ID_INVALID: "attachment content_id must be 1 to 250 characters of letters, digits and !#$%&'*+-/=?^_`{|}~.@",
} as const;
export type AttachmentRefusal = keyof typeof ATTACHMENT_REFUSALS;

const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
const QUOTED = '"(?:[\\x20\\x21\\x23-\\x5b\\x5d-\\x7e]|\\\\[\\x20-\\x7e])*"';
// RFC 2045 type/subtype with optional parameters; ";" separates, so matching is linear.
const MEDIA_TYPE = new RegExp(`^[ \\t]*(${TOKEN})/(${TOKEN})(?:[ \\t]*;[ \\t]*${TOKEN}=(?:${TOKEN}|${QUOTED}))*[ \\t]*$`);

/** "Text/Plain; charset=utf-8" → "text/plain"; undefined when it is not a media type. */
export function mediaType(value: string): string | undefined {
  const m = value.length <= 255 ? MEDIA_TYPE.exec(value) : null;
  return m ? `${m[1]!.toLowerCase()}/${m[2]!.toLowerCase()}` : undefined;
}

/** Compares by type/subtype only, ignoring case and parameters. */
export function contentTypeAllowed(policy: AttachmentPolicy, contentType: string): boolean {
  const type = mediaType(contentType);
  return type !== undefined && policy.allowedContentTypes.includes(type);
}
