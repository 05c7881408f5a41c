// The per-message options of Send and Reply beyond the content: the From identity, extra header
// fields, tags and metadata, expiry and collapse key. Counts and sizes are checked before any
// element is, and every problem is a field violation, so nothing is written for a bad request.
import { timestampMs, type Timestamp } from "@bufbuild/protobuf/wkt";
import type { AccountConfig } from "../../config/config.js";
import { formatMailbox, parseMailbox, AddressError } from "../../message/address.js";
import { mayUseFrom } from "../../message/sender-identity.js";
import { MAX_TAGS, TAG_TEXT } from "../../message/tags.js";
import type { HeaderField, StringMap } from "../../outbox/types.js";
import { Priority } from "../../../gen/email/v1/outbox_pb.js";
import { headerSafe, type Violations } from "./validate.js";

export const MAX_HEADERS = 50;
export const MAX_HEADER_BYTES = 16 * 1024;
export const MAX_METADATA = 20;
export const MAX_METADATA_BYTES = 2 * 1024;
/** A message worth sending a month late is not one that expires: a longer expiry is a mistake. */
export const MAX_EXPIRY_MS = 30 * 24 * 3600_000;
export const MAX_COLLAPSE_KEY_BYTES = 128;

/** RFC 5322 §3.6.8 field-name: printable ASCII except ':'; at most 76, so it fits a line with room. */
const FIELD_NAME = /^[\x21-\x39\x3b-\x7e]{1,76}$/;
/**
 * Header fields the service writes itself, or that other fields (or the account) decide: setting
 * them here would contradict those, or bypass allowed_from (Sender) and signing (DKIM-Signature).
 */
const STRUCTURAL = new Set([
  "from",
  "to",
  "cc",
  "bcc",
  "subject",
  "date",
  "message-id",
  "in-reply-to",
  "references",
  "mime-version",
  "reply-to",
  "sender",
  "return-path",
  "dkim-signature",
  "x-outbox-id",
]);
const LONE_SURROGATE = /\p{Cs}/u;
/** Not printable: control, format (bidirectional and zero-width), surrogate, private-use, unassigned. */
const NOT_PRINTABLE = /\p{C}/u;

/** The From header: the request's, if the account allows its address, else the account's. */
export function fromHeader(v: Violations, account: AccountConfig, value: string): string {
  if (value === "") return account.from;
  try {
    const mailbox = parseMailbox(value);
    if (!mayUseFrom(account, mailbox.address)) {
      v.add("from", "FROM_NOT_ALLOWED", "from is not an address this account may send as (allowed_from)");
      return account.from;
    }
    return formatMailbox(mailbox);
  } catch (err) {
    if (!(err instanceof AddressError)) throw err;
    v.add("from", err.reason, `from: ${err.message}`);
    return account.from;
  }
}

/** Extra header fields, in the order given; undefined when there are none. */
export function customHeaders(v: Violations, headers: Readonly<StringMap>): HeaderField[] | undefined {
  const fields = Object.entries(headers);
  if (fields.length === 0) return undefined;
  if (fields.length > MAX_HEADERS) {
    v.add("headers", "TOO_MANY_HEADERS", `at most ${MAX_HEADERS} headers`);
    return undefined;
  }
  if (fields.reduce((n, [name, value]) => n + Buffer.byteLength(name) + Buffer.byteLength(value), 0) > MAX_HEADER_BYTES) {
    v.add("headers", "HEADERS_TOO_LARGE", `headers must be at most ${MAX_HEADER_BYTES} bytes of names and values in all`);
    return undefined;
  }
  const seen = new Set<string>();
  for (const [name, value] of fields) {
    const key = name.toLowerCase();
    if (!FIELD_NAME.test(name)) {
      v.add("headers", "HEADER_NAME_INVALID", "a header name is 1 to 76 printable ASCII characters without ':' (RFC 5322 field-name)");
    } else if (STRUCTURAL.has(key) || key.startsWith("content-")) {
      v.add(`headers[${name}]`, "HEADER_NOT_ALLOWED", `header ${name} cannot be set in headers`);
    } else if (seen.has(key)) {
      v.add(`headers[${name}]`, "HEADER_DUPLICATE", `header ${name} is given twice (names ignore case)`);
    } else {
      headerSafe(v, `headers[${name}]`, value);
    }
    seen.add(key);
  }
  return fields;
}

/** Tags on a message, or a tag filter: name -> value, both of tag syntax. */
export function tags(v: Violations, field: string, input: Readonly<StringMap>): StringMap | undefined {
  const entries = Object.entries(input);
  if (entries.length === 0) return undefined;
  if (entries.length > MAX_TAGS) {
    v.add(field, "TOO_MANY_TAGS", `at most ${MAX_TAGS} tags`);
    return undefined;
  }
  for (const [name, value] of entries) {
    if (!TAG_TEXT.test(name) || !TAG_TEXT.test(value)) {
      v.add(field, "TAG_INVALID", "tag names and values are 1 to 256 ASCII letters, digits, '_' or '-'");
      return undefined;
    }
  }
  return { ...input };
}

/** TRANSACTIONAL (also unspecified) or BULK; anything else is refused. */
export function priority(v: Violations, value: Priority): "transactional" | "bulk" | undefined {
  if (value === Priority.BULK) return "bulk";
  if (value !== Priority.UNSPECIFIED && value !== Priority.TRANSACTIONAL)
    v.add("priority", "PRIORITY_INVALID", "priority must be TRANSACTIONAL or BULK");
  return undefined;
}

/** The caller's own pairs, bounded; never written into the message. */
export function metadata(v: Violations, input: Readonly<StringMap>): StringMap | undefined {
  const entries = Object.entries(input);
  if (entries.length === 0) return undefined;
  if (entries.length > MAX_METADATA) {
    v.add("metadata", "TOO_MANY_METADATA", `at most ${MAX_METADATA} metadata pairs`);
    return undefined;
  }
  if (entries.reduce((n, [k, value]) => n + Buffer.byteLength(k) + Buffer.byteLength(value), 0) > MAX_METADATA_BYTES) {
    v.add("metadata", "METADATA_TOO_LARGE", `metadata must be at most ${MAX_METADATA_BYTES} bytes of keys and values in all`);
    return undefined;
  }
  if (
    entries.some(
      ([k, value]) => k === "" || LONE_SURROGATE.test(k) || LONE_SURROGATE.test(value) || k.includes("\0") || value.includes("\0"),
    )
  ) {
    v.add("metadata", "METADATA_INVALID", "metadata keys are not empty, and keys and values are valid Unicode without NUL");
    return undefined;
  }
  return { ...input };
}

/** expire_at: after the time the message is due (send_at, or now) and at most 30 days after it. */
export function expireAt(v: Violations, value: Timestamp | undefined, due: number): number | undefined {
  if (!value) return undefined;
  const ms = timestampMs(value);
  if (!Number.isFinite(ms) || ms <= due || ms > due + MAX_EXPIRY_MS) {
    v.add("expire_at", "EXPIRE_AT_INVALID", "expire_at must be after send_at (or now) and at most 30 days after it");
    return undefined;
  }
  return ms;
}

/** collapse_key: 1 to 128 bytes of printable text; empty means none. */
export function collapseKey(v: Violations, value: string): string | undefined {
  if (value === "") return undefined;
  if (Buffer.byteLength(value, "utf8") > MAX_COLLAPSE_KEY_BYTES || NOT_PRINTABLE.test(value)) {
    v.add("collapse_key", "COLLAPSE_KEY_INVALID", `collapse_key must be at most ${MAX_COLLAPSE_KEY_BYTES} bytes of printable text`);
    return undefined;
  }
  return value;
}
