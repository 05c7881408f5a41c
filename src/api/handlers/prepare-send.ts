// A Send checked into the message to commit: every check Send makes, in its order, with no call
// context. The Send and SendBatch RPCs run it after the API key's account check; the
// outbox_request intake runs it for requests applications commit to the table, so a request
// gets the same answer whichever way it comes in.
import { toBinary } from "@bufbuild/protobuf";
import { SendRequestSchema, type ReplyRequest, type SendRequest } from "../../../gen/email/v1/email_service_pb.js";
import type { AccountConfig, Config } from "../../config/config.js";
import type { NewMessage } from "../../outbox/types.js";
import { invalidArgument } from "./errors.js";
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
} from "./validate.js";

/** Validates a Send into the message to commit; throws the ConnectError Send answers with. */
export async function prepareSend(req: SendRequest, config: Config, now: number): Promise<NewMessage> {
  checkSizes({ recipients: req.to.length + req.cc.length + req.bcc.length, subject: req.subject, bodyText: req.bodyText,
    bodyHtml: req.bodyHtml, idempotencyKey: req.idempotencyKey, attachments: req.attachments.length });
  requireNonEmpty([["to", req.to.some((t) => t.trim() !== "")], ["subject", req.subject.trim() !== ""], ["body_text", req.bodyText.trim() !== ""]],
    "to/subject/body_text cannot be empty");
  const account = requireAccount(config, req.accountId);
  const mode = failureMode(config, req.failureMode);
  const v = new Violations();
  const to = addressList(v, "to", req.to);
  const cc = addressList(v, "cc", req.cc);
  const bcc = addressList(v, "bcc", req.bcc);
  const replyTo = req.replyTo ? address(v, "reply_to", req.replyTo) : undefined;
  checkRecipientCount(v, req.to.length + req.cc.length + req.bcc.length);
  checkSubject(v, req.subject);
  checkBodies(v, req.bodyText, req.bodyHtml);
  checkIdempotencyKey(v, req.idempotencyKey);
  const due = sendAt(v, req.sendAt, now);
  const options = messageOptions(v, account, req, due);
  const files = await attachments(v, config, req.attachments);
  v.check();

  return {
    accountId: account.id, kind: "send", to, cc, bcc, replyTo, subject: req.subject, ...options,
    bodyText: req.bodyText, bodyHtml: req.bodyHtml || undefined, attachments: files, sendAt: due, failureMode: mode,
    idempotencyKey: req.idempotencyKey || undefined,
    requestHash: req.idempotencyKey ? requestHash(toBinary(SendRequestSchema, { ...req, waitForAttempt: false })) : undefined,
  };
}

/** From, headers, tags, metadata, expiry and collapse key of a Send or Reply, as they are committed. */
export function messageOptions(v: Violations, account: AccountConfig, req: SendRequest | ReplyRequest, due: number) {
  return {
    expireAt: expireAt(v, req.expireAt, due),
    collapseKey: collapseKey(v, req.collapseKey),
    from: fromHeader(v, account, req.from),
    headers: customHeaders(v, req.headers),
    tags: tags(v, "tags", req.tags),
    metadata: metadata(v, req.metadata),
    priority: priority(v, req.priority),
  };
}

/** Throws the reference's message naming the first empty field. */
export function requireNonEmpty(checks: [string, boolean][], message: string): void {
  const empty = checks.find(([, ok]) => !ok);
  if (empty) throw invalidArgument([{ field: empty[0], reason: "REQUIRED_FIELD_EMPTY", description: message }]);
}
