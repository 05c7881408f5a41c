// email.v1.MailboxService: the mail each account received (ingested here) and sent (recorded by
// the outbox when delivered), which Reply answers.
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { Code } from "@connectrpc/connect";
import {
  MessageDirection,
  type SuppressionReason,
  type AddSuppressionRequest,
  type GetMessageRequest,
  type IngestMessageRequest,
  type ListMessagesRequest,
  type ListSuppressionsRequest,
  type MailboxService,
  type RemoveSuppressionRequest,
} from "../../../gen/email/v1/mailbox_service_pb.js";
import { authorize } from "../auth/authorize.js";
import type { BounceMetrics } from "../../metrics/metrics.js";
import { IngestError } from "../../inbound/mailbox/ingest.js";
import { receiveMessage } from "../../inbound/mailbox/receive.js";
import { AddressError, parseMailbox } from "../../message/address.js";
import { findMessage, listMessages, type Direction } from "../../outbox/messages.js";
import {
  addSuppression,
  listSuppressions,
  removeSuppression,
  removeSuppressions,
  type SuppressionReason as Reason,
} from "../../outbox/suppression.js";
import { SUPPRESSION_REASON, toProtoReport, toProtoSuppression } from "./report-mapping.js";
import { fromProtoReason } from "./reason-mapping.js";
import type { HandlerDeps } from "./email-service.js";
import { apiError, invalidArgument, type FieldViolation } from "./errors.js";
import { toProtoMessage } from "./mailbox-mapping.js";
import { requestMessageId } from "./message-id.js";
import { MAX_QUERY_CHARS } from "./outbox-query.js";
import { decodePageToken, encodePageToken, pageSize } from "./page-token.js";
import { requireAccount } from "./validate.js";

/** Addresses one RemoveSuppression may take off at once. */
export const MAX_REMOVE_ADDRESSES = 1000;

const REASON_FROM_PROTO = new Map<SuppressionReason, Reason>(Object.entries(SUPPRESSION_REASON).map(([k, v]) => [v, k as Reason]));

export class MailboxServiceHandlers implements ServiceImpl<typeof MailboxService> {
  constructor(private readonly deps: Pick<HandlerDeps, "config" | "pool" | "clock" | "log"> & { metrics: BounceMetrics }) {}

  async ingestMessage(req: IngestMessageRequest, ctx: HandlerContext) {
    authorize(ctx, req.accountId);
    const account = requireAccount(this.deps.config(), req.accountId);
    if (req.raw.length === 0) throw invalidArgument([{ field: "raw", reason: "REQUIRED_FIELD_EMPTY", description: "raw cannot be empty" }]);
    const raw = Buffer.from(req.raw.buffer, req.raw.byteOffset, req.raw.byteLength);
    const { config, pool, clock, metrics, log } = this.deps;
    const got = await receiveMessage(pool, account, config().messageIdDomain, raw, clock.now(), { metrics, log }).catch((err: unknown) => {
      if (err instanceof IngestError) throw invalidArgument([{ field: "raw", reason: err.reason, description: err.message }]);
      throw err;
    });
    return { message: toProtoMessage(got.message), created: got.created, report: got.report && toProtoReport(got.report) };
  }

  async listSuppressions(req: ListSuppressionsRequest, ctx: HandlerContext) {
    authorize(ctx, req.accountId);
    const account = requireAccount(this.deps.config(), req.accountId);
    const size = pageSize(req.pageSize);
    checkQuery(req.query);
    const entries = await listSuppressions(this.deps.pool, {
      accountId: account.id,
      search: req.query || undefined,
      limit: size + 1,
      reasons: req.reasons.map(
        (r, i) => REASON_FROM_PROTO.get(r) ?? badEnum(`reasons[${i}]`, "SUPPRESSION_REASON_INVALID", "unknown suppression reason"),
      ),
      bounceReasons: req.bounceReasons.map((r, i) => {
        const reason = fromProtoReason(r);
        return reason !== undefined ? reason : badEnum(`bounce_reasons[${i}]`, "BOUNCE_REASON_INVALID", "unknown bounce reason");
      }),
      afterAddress: req.pageToken ? decodeAddressToken(req.pageToken) : undefined,
    });
    const page = entries.slice(0, size);
    return {
      suppressions: page.map(toProtoSuppression),
      nextPageToken: entries.length > size ? Buffer.from(`s:${page[page.length - 1]!.address}`).toString("base64url") : "",
    };
  }

  async addSuppression(req: AddSuppressionRequest, ctx: HandlerContext) {
    authorize(ctx, req.accountId);
    const account = requireAccount(this.deps.config(), req.accountId);
    if (req.detail.length > 1000) {
      throw invalidArgument([{ field: "detail", reason: "DETAIL_TOO_LONG", description: "detail must be at most 1000 characters" }]);
    }
    const { entry, created } = await addSuppression(this.deps.pool, {
      accountId: account.id,
      address: requestAddress(req.address),
      reason: "manual",
      bounceReason: null,
      outboxId: null,
      detail: req.detail,
      createdAt: this.deps.clock.now(),
    });
    return { suppression: toProtoSuppression(entry), created };
  }

  /** One address (NOT_FOUND when not listed), or a list checked whole before anything is removed. */
  async removeSuppression(req: RemoveSuppressionRequest, ctx: HandlerContext) {
    authorize(ctx, req.accountId);
    const account = requireAccount(this.deps.config(), req.accountId);
    if (req.addresses.length === 0) {
      const address = requestAddress(req.address);
      if (!(await removeSuppression(this.deps.pool, account.id, address))) {
        throw apiError(Code.NotFound, "SUPPRESSION_NOT_FOUND", "the address is not on the suppression list");
      }
      return { removed: [address.toLowerCase()] };
    }
    if (req.address !== "") {
      throw invalidArgument([{ field: "address", reason: "ADDRESS_AND_ADDRESSES", description: "set address or addresses, not both" }]);
    }
    if (req.addresses.length > MAX_REMOVE_ADDRESSES) {
      throw invalidArgument([
        {
          field: "addresses",
          reason: "TOO_MANY_ADDRESSES",
          description: `at most ${MAX_REMOVE_ADDRESSES} addresses per call`,
        },
      ]);
    }
    const violations: FieldViolation[] = [];
    const addresses = req.addresses.flatMap((value, i) => {
      try {
        return [parseMailbox(value).address];
      } catch (err) {
        if (!(err instanceof AddressError)) throw err;
        violations.push({ field: `addresses[${i}]`, reason: err.reason, description: `addresses[${i}]: ${err.message}` });
        return [];
      }
    });
    if (violations.length > 0) throw invalidArgument(violations);
    return { removed: await removeSuppressions(this.deps.pool, account.id, addresses) };
  }

  async getMessage(req: GetMessageRequest, ctx: HandlerContext) {
    authorize(ctx, req.accountId);
    const account = requireAccount(this.deps.config(), req.accountId);
    if (req.messageId.trim() === "") {
      throw invalidArgument([{ field: "message_id", reason: "REQUIRED_FIELD_EMPTY", description: "message_id cannot be empty" }]);
    }
    const message = await findMessage(this.deps.pool, account.id, requestMessageId("message_id", req.messageId));
    if (!message) throw apiError(Code.NotFound, "MESSAGE_NOT_FOUND", "message not found");
    return { message: toProtoMessage(message) };
  }

  async listMessages(req: ListMessagesRequest, ctx: HandlerContext) {
    authorize(ctx, req.accountId);
    const account = requireAccount(this.deps.config(), req.accountId);
    const size = pageSize(req.pageSize);
    checkQuery(req.query);
    const messages = await listMessages(this.deps.pool, {
      accountId: account.id,
      direction: direction(req.direction),
      search: req.query || undefined,
      limit: size + 1,
      beforeId: req.pageToken ? decodePageToken(req.pageToken) : undefined,
    });
    const page = messages.slice(0, size);
    return {
      messages: page.map(toProtoMessage),
      nextPageToken: messages.length > size ? encodePageToken(page[page.length - 1]!.id) : "",
    };
  }
}

/** A search text bounded, so that one substring scan stays cheap. */
function checkQuery(query: string): void {
  if (query.length > MAX_QUERY_CHARS) {
    throw invalidArgument([
      { field: "query", reason: "QUERY_TOO_LONG", description: `query must be at most ${MAX_QUERY_CHARS} characters` },
    ]);
  }
}

/** The addr-spec of a request's address ("Name <a@b>" or "a@b"); INVALID_ARGUMENT otherwise. */
function requestAddress(value: string): string {
  try {
    return parseMailbox(value).address;
  } catch (err) {
    if (!(err instanceof AddressError)) throw err;
    throw invalidArgument([{ field: "address", reason: err.reason, description: `address: ${err.message}` }]);
  }
}

function badEnum(field: string, reason: string, description: string): never {
  throw invalidArgument([{ field, reason, description }]);
}

function decodeAddressToken(token: string): string {
  const text = token.length <= 600 ? Buffer.from(token, "base64url").toString() : "";
  if (!text.startsWith("s:") || text.length < 3) {
    throw invalidArgument([{ field: "page_token", reason: "PAGE_TOKEN_INVALID", description: "page_token is not one this server issued" }]);
  }
  return text.slice(2);
}

function direction(value: MessageDirection): Direction | undefined {
  switch (value) {
    case MessageDirection.UNSPECIFIED:
      return undefined;
    case MessageDirection.INBOUND:
      return "inbound";
    case MessageDirection.OUTBOUND:
      return "outbound";
    default:
      throw invalidArgument([{ field: "direction", reason: "DIRECTION_INVALID", description: "unknown direction" }]);
  }
}
