// email.v1.MailboxService: the mail each account received (ingested here) and sent (recorded by
// the outbox when delivered), which Reply answers.
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { Code } from "@connectrpc/connect";
import {
  MessageDirection,
  type GetMessageRequest,
  type IngestMessageRequest,
  type ListMessagesRequest,
  type MailboxService,
} from "../../gen/email/v1/mailbox_service_pb.js";
import { authorize } from "../auth/authorize.js";
import { IngestError, parseInbound } from "../mailbox/ingest.js";
import { findMessage, insertMessage, listMessages, type Direction } from "../outbox/messages.js";
import type { HandlerDeps } from "./email-service.js";
import { apiError, invalidArgument } from "./errors.js";
import { toProtoMessage } from "./mailbox-mapping.js";
import { requestMessageId } from "./message-id.js";
import { decodePageToken, encodePageToken, pageSize } from "./page-token.js";
import { requireAccount } from "./validate.js";

/** Searches are substring scans; a bound keeps one request cheap. */
export const MAX_QUERY_CHARS = 200;

export class MailboxServiceHandlers implements ServiceImpl<typeof MailboxService> {
  constructor(private readonly deps: Pick<HandlerDeps, "config" | "pool" | "clock">) {}

  async ingestMessage(req: IngestMessageRequest, ctx: HandlerContext) {
    authorize(ctx, req.accountId);
    const account = requireAccount(this.deps.config(), req.accountId);
    if (req.raw.length === 0) throw invalidArgument([{ field: "raw", reason: "REQUIRED_FIELD_EMPTY", description: "raw cannot be empty" }]);
    const parsed = await parseInbound(account.id, Buffer.from(req.raw.buffer, req.raw.byteOffset, req.raw.byteLength)).catch((err: unknown) => {
      if (err instanceof IngestError) throw invalidArgument([{ field: "raw", reason: err.reason, description: err.message }]);
      throw err;
    });
    const { message, created } = await insertMessage(this.deps.pool, parsed, this.deps.clock.now());
    return { message: toProtoMessage(message), created };
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
    if (req.query.length > MAX_QUERY_CHARS) {
      throw invalidArgument([{ field: "query", reason: "QUERY_TOO_LONG", description: `query must be at most ${MAX_QUERY_CHARS} characters` }]);
    }
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
