// The outbox's domain types, shared by the store, the sender, the handlers and the watch tailer.
import type { BounceReason } from "../message/bounce-reasons.js";

export type Priority = "transactional" | "bulk";

export type OutboxStatus = "pending" | "sending" | "sent" | "failed" | "dead" | "cancelled" | "suppressed" | "expired";

/** Every status, in lifecycle order (metrics and webhook filters enumerate them). */
export const OUTBOX_STATUSES: readonly OutboxStatus[] = [
  "pending",
  "sending",
  "sent",
  "failed",
  "dead",
  "cancelled",
  "suppressed",
  "expired",
];

/** What happened to a row. Numbers are stored, and equal the proto's OutboxEventKind values. */
export const EventKind = {
  created: 1,
  scheduled: 2,
  sending: 3,
  sent: 4,
  failed: 5,
  dead: 6,
  cancelled: 7,
  leaseRescued: 8,
  retried: 9,
  released: 10,
  // 11 is the proto's SNAPSHOT, never stored.
  suppressed: 12,
  recipientBounced: 13,
  recipientDelayed: 14,
  recipientComplained: 15,
  expired: 16,
  // 17-19 are left for other kinds.
  relayFailed: 20,
} as const;
export type EventKind = (typeof EventKind)[keyof typeof EventKind];

/** Numbers equal the proto's FailureMode values. */
export const FailureMode = { none: 0, network: 1, provider: 2 } as const;
export type FailureMode = (typeof FailureMode)[keyof typeof FailureMode];

/** A validated message, ready to be committed. */
export interface NewMessage {
  accountId: number;
  kind: "send" | "reply";
  from: string;
  to: string[];
  cc: string[];
  bcc: string[];
  replyTo?: string;
  subject: string;
  bodyText: string;
  bodyHtml?: string;
  inReplyTo?: string;
  references?: string;
  sendAt: number;
  failureMode: FailureMode;
  idempotencyKey?: string;
  /** sha256 of the request, to tell a replay from a reused key. */
  requestHash?: Buffer;
  /** Stored with the row, so every attempt sends these exact bytes. */
  attachments?: MessageAttachment[];
  /** Recipients (lower-cased addresses) on the account's suppression list at commit: left out. */
  suppressed?: string[];
  /** Extra header fields, validated, in the order given; sent alike on every attempt. */
  headers?: HeaderField[];
  /** Name -> value; returned and watched with the row, never written into the message. */
  tags?: StringMap;
  /** The caller's own pairs; returned and watched with the row, never written into the message. */
  metadata?: StringMap;
  /** Claim order under a bottleneck (BULK_HANDICAP_MS); transactional by default. */
  priority?: Priority;
  /** No attempt starts at or after this time (ms): the row is EXPIRED instead. */
  expireAt?: number;
  /** Committing it cancels the account's queued rows with the same key (superseded). */
  collapseKey?: string;
  /** The template the subject and bodies were rendered from. */
  template?: TemplateUse;
  /** The message composed when it was accepted (no attachments; without the per-attempt head). */
  mime?: Buffer;
}

/** A template by name and version, as a row records what it was rendered from. */
export interface TemplateUse {
  name: string;
  version: number;
}

/** A header field as [name, value]. */
export type HeaderField = [string, string];
export type StringMap = Record<string, string>;

/** An attached file as committed with its row. */
export interface MessageAttachment {
  filename: string;
  contentType: string;
  /** Set for an inline part that body_html refers to as "cid:…". */
  contentId: string | null;
  content: Buffer;
}

/** What the detail view shows of an attached file: everything but its bytes. */
export type AttachmentInfo = Omit<MessageAttachment, "content"> & { sizeBytes: number };

/** A row's delivery state and headers (everything but the bodies). */
export interface OutboxRow {
  id: number;
  accountId: number;
  kind: "send" | "reply";
  status: OutboxStatus;
  retries: number;
  nextAttemptAt: number | null;
  sendAt: number;
  messageId: string | null;
  providerMessageId: string | null;
  lastError: string | null;
  lastErrorClass: string | null;
  failureMode: FailureMode;
  idempotencyKey: string | null;
  to: string[];
  cc: string[];
  bcc: string[];
  subject: string;
  inReplyTo: string | null;
  createdAt: number;
  updatedAt: number;
  sentAt: number | null;
  /** Recipients left out because they were suppressed when the row was committed. */
  suppressed: string[];
  /** The From header it is sent with. */
  from: string;
  headers: HeaderField[];
  tags: StringMap;
  metadata: StringMap;
  priority: Priority;
  expireAt: number | null;
  collapseKey: string | null;
  /** For a row a newer one with its collapse key cancelled: that row's id. */
  supersededBy: number | null;
  /** The relay that accepted a SENT row; otherwise the relay its next attempt goes to (null: the policy's first). */
  relay: string | null;
  /** The template it was rendered from; null when the request gave the body. */
  template: TemplateUse | null;
}

/** A row a sender holds a lease on, with everything needed to send it. */
export interface ClaimedMessage extends OutboxRow {
  messageId: string;
  /** The number in messageId; the next attempt's unless this one's outcome stays unknown. */
  messageSeq: number;
  leaseToken: number;
  replyTo: string | null;
  bodyText: string;
  bodyHtml: string | null;
  references: string | null;
  /** The bytes are loaded only when the attempt starts, so claimed rows waiting for a connection hold none. */
  hasAttachments: boolean;
  /** The message as composed when it was accepted; null: composed by the attempt. */
  mime: Buffer | null;
  /** A rate-limited account's start slot (ms): the attempt starts no earlier. */
  notBefore?: number;
  /** Relays that failed (or were skipped) since the last counted attempt. */
  relayHops: number;
}

/** The outcome of one attempt, to be written only if the lease is still ours. */
export type AttemptOutcome =
  | { kind: "sent"; providerMessageId: string }
  | {
      kind: "failed";
      error: string;
      errorClass: string;
      permanent: boolean;
      /** The server may have kept the message (the connection broke after all of it was sent). */
      ambiguous?: boolean;
      /** The relay's own failure, not the message's: another relay may take it (classify.ts). */
      relayLevel?: boolean;
    };

export interface EventRow {
  id: number;
  outboxId: number;
  accountId: number;
  kind: EventKind;
  status: OutboxStatus;
  retries: number;
  nextAttemptAt: number | null;
  providerMessageId: string | null;
  messageId: string | null;
  error: string | null;
  createdAt: number;
  /** For a recipient event (bounced, delayed, complained): the address it is about. */
  recipient: string | null;
  /** For a recipient event: why it failed (null for reports stored before reasons were recorded). */
  bounceReason: BounceReason | null;
  /** For a CANCELLED event: the newer row with the same collapse key that cancelled this one. */
  supersededBy: number | null;
  /** For an attempt's outcome: the relay it went through. */
  relay: string | null;
  /** The row's, read with the event (they never change), so every event of a row carries them. */
  tags: StringMap;
  metadata: StringMap;
}

export type NewEvent = Omit<
  EventRow,
  "id" | "createdAt" | "recipient" | "bounceReason" | "supersededBy" | "relay" | "tags" | "metadata"
> & {
  recipient?: string | null;
  bounceReason?: BounceReason | null;
  supersededBy?: number | null;
  relay?: string | null;
};
