// Send and Reply requests, validated completely into the message to commit. The checks they share
// run in one order for both, each request's own fields first, so a request that breaks several
// rules is refused alike whichever way it came in: Send and Reply (after the caller's access is
// checked), SendBatch, and the outbox_request table. No call context is needed.
import { toBinary } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { ReplyRequestSchema, SendRequestSchema, type ReplyRequest, type SendRequest } from "../../../gen/email/v1/email_service_pb.js";
import type { Clock } from "../../db/clock.js";
import type { Config } from "../../config/config.js";
import { replyHeaders } from "../../inbound/mailbox/reply.js";
import type { Pool } from "../../db/pool.js";
import { findMessage } from "../../outbox/messages.js";
import type { NewMessage } from "../../outbox/types.js";
import { apiError, invalidArgument } from "./errors.js";
import { requestMessageId } from "./message-id.js";
import { messageBody, type MessageBody } from "./template-body.js";
import { TemplateCall, type CompiledTemplates } from "../../templates/compiled.js";
import { collapseKey, customHeaders, expireAt, fromHeader, metadata, priority, tags } from "./message-options.js";
import {
  address,
  addressList,
  attachments,
  checkBodies,
  checkIdempotencyKey,
  checkRecipientCount,
  checkSizes,
  checkSubject,
  failureMode,
  requestHash,
  requireAccount,
  sendAt,
  Violations,
  type MessageSizes,
} from "./validate.js";

export interface RequestDeps {
  config(): Config;
  clock: Pick<Clock, "now">;
  /** The stored templates a request may name instead of giving its subject and bodies. */
  templates: CompiledTemplates;
  /** For a Reply's parent; a Send reads nothing. */
  pool?: Pool;
}

/** A Send as the message to commit. */
export async function sendMessage(req: SendRequest, deps: RequestDeps, call = new TemplateCall()): Promise<NewMessage> {
  const recipients = req.to.length + req.cc.length + req.bcc.length;
  const body = await messageBody(deps.templates, deps.config(), req, call);
  const { common, own } = await prepare(req, body, deps, {
    sizes: { recipients, subject: body.subject },
    required: [
      ["to", req.to.some((t) => t.trim() !== "")],
      ["subject", body.subject.trim() !== ""],
    ],
    check: (v) => {
      const to = addressList(v, "to", req.to);
      const cc = addressList(v, "cc", req.cc);
      const bcc = addressList(v, "bcc", req.bcc);
      const replyTo = req.replyTo ? address(v, "reply_to", req.replyTo) : undefined;
      checkRecipientCount(v, recipients);
      checkSubject(v, body.subject);
      return { to, cc, bcc, replyTo };
    },
    bytes: () => toBinary(SendRequestSchema, { ...req, waitForAttempt: false }),
  });
  return { ...common, kind: "send", ...own, subject: body.subject };
}

/** A Reply as the message to commit: its recipients, subject and threading come from the parent. */
export async function replyMessage(req: ReplyRequest, deps: Required<RequestDeps>): Promise<NewMessage> {
  const body = await messageBody(deps.templates, deps.config(), req, new TemplateCall());
  const {
    account,
    common,
    own: parentId,
  } = await prepare(req, body, deps, {
    required: [["in_reply_to_message_id", req.inReplyToMessageId.trim() !== ""]],
    check: () => requestMessageId("in_reply_to_message_id", req.inReplyToMessageId),
    bytes: () => toBinary(ReplyRequestSchema, { ...req, waitForAttempt: false }),
  });
  // The parent is a message this account received or sent; the headers are fixed now, so
  // retries keep them even if the parent is deleted.
  const parent = await findMessage(deps.pool, account.id, parentId);
  if (!parent) throw apiError(Code.NotFound, "PARENT_NOT_FOUND", "in_reply_to_message_id does not exist for this account");
  const reply = replyHeaders(parent, account.from, req.replyAll);
  if (!reply) throw apiError(Code.FailedPrecondition, "REPLY_RECIPIENT_UNKNOWN", "cannot infer reply recipient from parent sender");
  const recipients = new Violations();
  checkRecipientCount(recipients, reply.to.length + reply.cc.length);
  recipients.check();
  return {
    ...common,
    kind: "reply",
    to: reply.to,
    cc: reply.cc,
    bcc: [],
    subject: reply.subject,
    inReplyTo: reply.inReplyTo,
    references: reply.references.join(" "),
  };
}

/** What a request checks besides the shared fields. */
interface OwnChecks<T> {
  sizes?: Pick<MessageSizes, "recipients" | "subject">;
  /** Fields that must not be empty, before body_text. */
  required: [string, boolean][];
  /** Its own fields, into the same list of field violations. */
  check: (v: Violations) => T;
  /** The request as the idempotency key's hash covers it. */
  bytes: () => Uint8Array;
}

/**
 * The checks Send and Reply share, in the order they report (after the caller's access, which
 * the RPCs check first): sizes, empty fields, the account, failure_mode, then the request's own
 * fields and the shared ones as one list of field violations. Returns the account and the shared
 * part of the message.
 */
async function prepare<T>(req: SendRequest | ReplyRequest, body: MessageBody, deps: RequestDeps, own: OwnChecks<T>) {
  checkSizes({
    ...own.sizes,
    bodyText: body.bodyText,
    bodyHtml: body.bodyHtml,
    idempotencyKey: req.idempotencyKey,
    attachments: req.attachments.length,
  });
  const config = deps.config();
  const now = deps.clock.now();
  requireNonEmpty([...own.required, ["body_text", body.bodyText.trim() !== ""]]);
  const account = requireAccount(config, req.accountId);
  const mode = failureMode(config, req.failureMode);
  const v = new Violations();
  const checked = own.check(v);
  checkBodies(v, body.bodyText, body.bodyHtml);
  checkIdempotencyKey(v, req.idempotencyKey);
  const due = sendAt(v, req.sendAt, now);
  // Expiry, collapse key, From, headers, tags and metadata, as they are committed.
  const options = {
    expireAt: expireAt(v, req.expireAt, due),
    collapseKey: collapseKey(v, req.collapseKey),
    from: fromHeader(v, account, req.from),
    headers: customHeaders(v, req.headers),
    tags: tags(v, "tags", req.tags),
    metadata: metadata(v, req.metadata),
    priority: priority(v, req.priority),
  };
  const files = await attachments(v, config, req.attachments);
  v.check();
  return {
    account,
    own: checked,
    common: {
      accountId: account.id,
      ...options,
      bodyText: body.bodyText,
      bodyHtml: body.bodyHtml || undefined,
      template: body.template,
      attachments: files,
      sendAt: due,
      failureMode: mode,
      idempotencyKey: req.idempotencyKey || undefined,
      requestHash: req.idempotencyKey ? requestHash(own.bytes()) : undefined,
    },
  };
}

/** Throws the reference's message ("to/subject/body_text cannot be empty") naming the first empty field. */
function requireNonEmpty(checks: [string, boolean][]): void {
  const empty = checks.find(([, ok]) => !ok);
  const message = `${checks.map(([field]) => field).join("/")} cannot be empty`;
  if (empty) throw invalidArgument([{ field: empty[0], reason: "REQUIRED_FIELD_EMPTY", description: message }]);
}
