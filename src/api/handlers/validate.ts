// Request validation shared by Send and Reply: everything is checked before anything is
// written, and every problem is reported as a field violation with a stable reason.
import { createHash } from "node:crypto";
import { timestampMs, type Timestamp } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import type { Attachment, FailureMode as ProtoFailureMode } from "../../../gen/email/v1/outbox_pb.js";
import { MAX_ATTACHMENTS } from "../../message/attachment-policy.js";
import { checkAttachments, resolveAttachments } from "../attachments/prepare.js";
import type { AccountConfig, Config } from "../../config/config.js";
import { AddressError, assertHeaderSafe, formatMailbox, parseMailbox } from "../../message/address.js";
import { FailureMode, type MessageAttachment } from "../../outbox/types.js";
import { apiError, invalidArgument, type FieldViolation } from "./errors.js";

export const MAX_RECIPIENTS = 50;
export const MAX_SUBJECT_BYTES = 998;
export const MAX_IDEMPOTENCY_KEY = 256;
export const MAX_BODY_BYTES = 10 * 1024 * 1024;
/** A send_at further ahead than this is a mistake (a unit error, usually), not a plan. */
export const MAX_SCHEDULE_AHEAD_MS = 366 * 24 * 3600_000;

/** Collects violations so one response can report all of them. */
export class Violations {
  readonly list: FieldViolation[] = [];

  add(field: string, reason: string, description: string): void {
    this.list.push({ field, reason, description });
  }

  /** Throws INVALID_ARGUMENT when anything was reported. */
  check(): void {
    if (this.list.length > 0) throw invalidArgument(this.list);
  }
}

/** The counts and lengths of one message, as the request gives them. */
export interface MessageSizes {
  /** to, cc and bcc together (Send); undefined for a Reply, whose recipients come from the parent. */
  recipients?: number;
  subject?: string;
  bodyText: string;
  bodyHtml: string;
  idempotencyKey: string;
  attachments: number;
}

/**
 * Counts and lengths first, before any element is parsed: a request over a limit is refused for
 * the cost of a few comparisons, however many addresses it holds. One message at a time, so a
 * batch can check each of its messages the same way. Throws INVALID_ARGUMENT.
 */
export function checkSizes(m: MessageSizes): void {
  const v = new Violations();
  if (m.recipients !== undefined) checkRecipientCount(v, m.recipients);
  if (m.subject !== undefined && m.subject.length > MAX_SUBJECT_BYTES) {
    // A UTF-16 length over the limit is over it in UTF-8 bytes too; the exact count is taken later.
    v.add("subject", "SUBJECT_TOO_LONG", `subject must be at most ${MAX_SUBJECT_BYTES} bytes`);
  }
  if (m.bodyText.length + m.bodyHtml.length > MAX_BODY_BYTES) {
    v.add("body_text", "BODY_TOO_LARGE", `body_text and body_html together must be at most ${MAX_BODY_BYTES} bytes`);
  }
  if (m.idempotencyKey.length > MAX_IDEMPOTENCY_KEY) {
    v.add("idempotency_key", "IDEMPOTENCY_KEY_INVALID", `idempotency_key must be at most ${MAX_IDEMPOTENCY_KEY} characters`);
  }
  if (m.attachments > MAX_ATTACHMENTS) v.add("attachments", "TOO_MANY_ATTACHMENTS", `at most ${MAX_ATTACHMENTS} attachments per message`);
  v.check();
}

export function requireAccount(config: Config, accountId: number): AccountConfig {
  const account = config.accounts.get(accountId);
  if (!account) {
    throw apiError(Code.NotFound, "ACCOUNT_NOT_FOUND", "account is not configured", { account_id: String(accountId) });
  }
  return account;
}

/** Parses and normalises a list of addresses; bad ones are reported by index. */
export function addressList(v: Violations, field: string, values: readonly string[]): string[] {
  const out: string[] = [];
  values.forEach((value, i) => {
    const formatted = address(v, `${field}[${i}]`, value);
    if (formatted !== undefined) out.push(formatted);
  });
  return out;
}

export function address(v: Violations, field: string, value: string): string | undefined {
  try {
    return formatMailbox(parseMailbox(value));
  } catch (err) {
    if (!(err instanceof AddressError)) throw err;
    v.add(field, err.reason, `${field}: ${err.message}`);
    return undefined;
  }
}

export function headerSafe(v: Violations, field: string, value: string): boolean {
  try {
    assertHeaderSafe(value, field);
    return true;
  } catch (err) {
    if (!(err instanceof AddressError)) throw err;
    v.add(field, err.reason, err.message);
    return false;
  }
}

export function checkRecipientCount(v: Violations, count: number): void {
  if (count > MAX_RECIPIENTS) {
    v.add("to", "TOO_MANY_RECIPIENTS", `at most ${MAX_RECIPIENTS} recipients in to, cc and bcc together`);
  }
}

export function checkSubject(v: Violations, subject: string): void {
  if (Buffer.byteLength(subject, "utf8") > MAX_SUBJECT_BYTES) {
    v.add("subject", "SUBJECT_TOO_LONG", `subject must be at most ${MAX_SUBJECT_BYTES} bytes`);
  } else {
    headerSafe(v, "subject", subject);
  }
}

export function checkBodies(v: Violations, bodyText: string, bodyHtml: string): void {
  if (Buffer.byteLength(bodyText, "utf8") + Buffer.byteLength(bodyHtml, "utf8") > MAX_BODY_BYTES) {
    v.add("body_text", "BODY_TOO_LARGE", `body_text and body_html together must be at most ${MAX_BODY_BYTES} bytes`);
  }
  // SMTP cannot carry NUL, and a NUL in a body is a bug in the caller, not content.
  if (bodyText.includes("\0")) v.add("body_text", "BODY_INVALID", "body_text must not contain NUL");
  if (bodyHtml.includes("\0")) v.add("body_html", "BODY_INVALID", "body_html must not contain NUL");
}

export function checkIdempotencyKey(v: Violations, key: string): void {
  if (key.length > MAX_IDEMPOTENCY_KEY) {
    v.add("idempotency_key", "IDEMPOTENCY_KEY_INVALID", `idempotency_key must be at most ${MAX_IDEMPOTENCY_KEY} characters`);
  } else if (/[\0-\x1f\x7f]/.test(key)) {
    v.add("idempotency_key", "IDEMPOTENCY_KEY_INVALID", "idempotency_key must not contain control characters");
  }
}

/** send_at: unset or past means now; more than a year ahead is refused. */
export function sendAt(v: Violations, value: Timestamp | undefined, now: number): number {
  if (!value) return now;
  const ms = timestampMs(value);
  if (!Number.isFinite(ms) || ms > now + MAX_SCHEDULE_AHEAD_MS) {
    v.add("send_at", "SEND_AT_OUT_OF_RANGE", "send_at must be at most one year ahead");
    return now;
  }
  return Math.max(ms, now);
}

/**
 * Attachments, checked like every other field; path attachments are read from the store only
 * when nothing else in the request is wrong, and their bytes are what gets committed.
 */
export async function attachments(v: Violations, config: Config, inputs: readonly Attachment[]): Promise<MessageAttachment[]> {
  if (inputs.length === 0) return [];
  for (const p of checkAttachments(inputs, config)) v.add(p.field, p.reason, p.description);
  if (v.list.length > 0) return [];
  const resolved = await resolveAttachments(inputs, config);
  for (const p of resolved.problems) v.add(p.field, p.reason, p.description);
  return resolved.attachments;
}

/** failure_mode is a test hook: refused unless the server's config allows it. */
export function failureMode(config: Config, mode: ProtoFailureMode): FailureMode {
  if (mode === 0) return FailureMode.none;
  if (mode !== FailureMode.network && mode !== FailureMode.provider) {
    throw invalidArgument([{ field: "failure_mode", reason: "FAILURE_MODE_INVALID", description: "unknown failure_mode" }]);
  }
  if (!config.allowFailureMode) {
    throw apiError(Code.FailedPrecondition, "FAILURE_MODE_NOT_ALLOWED", "failure_mode is disabled on this server (allow_failure_mode)");
  }
  return mode;
}

/** The fingerprint that tells a replayed request from a different one under the same key. */
export function requestHash(bytes: Uint8Array): Buffer {
  return createHash("sha256").update(bytes).digest();
}
