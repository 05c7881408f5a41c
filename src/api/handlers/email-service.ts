// email.v1.EmailService: thin handlers that validate, call the outbox, and map the results.
import { recipientReports, recipientReportsOf } from "../../inbound/bounces/recipients.js";
import { toProtoRecipient } from "./report-mapping.js";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import {
  type EmailService,
  OutboxEventKind,
  WatchOutboxResponseSchema,
  type CancelOutboxRequest,
  type GetOutboxActivityRequest,
  type GetOutboxMessageRequest,
  type GetOutboxRequest,
  type ListOutboxRequest,
  type ReplyRequest,
  type RetryOutboxRequest,
  type SendBatchRequest,
  type SendRequest,
  type WatchOutboxRequest,
  type WatchOutboxResponse,
} from "../../../gen/email/v1/email_service_pb.js";
import { OutboxStatus } from "../../../gen/email/v1/outbox_pb.js";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { Config } from "../../config/config.js";
import { tags } from "./message-options.js";
import type { Clock } from "../../db/clock.js";
import type { Pool } from "../../db/pool.js";
import { cancelOutbox, getOutbox, getOutboxContent, listOutbox } from "../../outbox/store.js";
import { OutboxActivity } from "./outbox-activity.js";
import { MAX_DETAIL_READS, outboxMessage } from "./outbox-detail.js";
import { Turns } from "./turns.js";
import { outboxQuery } from "./outbox-query.js";
import type { NewMessage, OutboxRow } from "../../outbox/types.js";
import type { Sender } from "../../delivery/sender.js";
import { SenderStoppedError } from "../../delivery/sender.js";
import type { EventTailer } from "../../events/watch/tailer.js";
import {
  watchOutbox,
  WatchOutOfRangeError,
  WatchOverflowError,
  WatchShutdownError,
  WatchSnapshotTooLargeError,
  type WatchItem,
} from "../../events/watch/stream.js";
import { STREAM_SLOT, StreamSlot } from "../stream-limits.js";
import { apiError, fromOutboxError, invalidArgument, toStatus } from "./errors.js";
import { clientError } from "./interceptors.js";
import type { Logger } from "../../lib/log.js";
import { TemplateCall, type CompiledTemplates } from "../../templates/compiled.js";
import { MAX_BATCH_ROWS, type GroupCommit } from "../../outbox/group-commit.js";
import { accountFilter, authorize, mayAccess } from "../auth/authorize.js";
import { STATUS_FROM_PROTO, toProtoEvent, toProtoOutbox } from "./mapping.js";
import { replyMessage, sendMessage } from "./message-request.js";
import { decodePageToken, encodePageToken, pageSize } from "./page-token.js";
import { failureMode, Violations } from "./validate.js";

export interface HandlerDeps {
  config(): Config;
  pool: Pool;
  clock: Clock;
  sender: Sender;
  tailer: EventTailer;
  /** Commits new messages; it wakes the sender and the tailer after each commit. */
  commits: GroupCommit;
  log: Logger;
  templates: CompiledTemplates;
}

/** A SendBatch commits in one transaction when it is the only caller. */
const MAX_BATCH_MESSAGES = MAX_BATCH_ROWS;

/** How long wait_for_attempt waits at most when the client set no deadline. */
const MAX_WAIT_MS = 60_000;

export class EmailServiceHandlers implements ServiceImpl<typeof EmailService> {
  private readonly activity: OutboxActivity;
  /** GetOutboxMessage reads whole bodies (up to 10 MiB a row): a few at a time per instance. */
  private readonly detailReads = new Turns(MAX_DETAIL_READS);

  constructor(private readonly deps: HandlerDeps) {
    this.activity = new OutboxActivity(deps.pool, deps.clock);
  }

  async send(req: SendRequest, ctx: HandlerContext) {
    authorize(ctx, req.accountId);
    const msg = await sendMessage(req, this.deps);
    const { row, replay } = await this.commit(msg, req.waitForAttempt, ctx);
    return { outbox: toProtoOutbox(row), idempotentReplay: replay };
  }

  /**
   * Each message is checked and committed as Send would, and answered on its own: the row, or
   * the error Send would have returned. Only a request of the wrong size fails as a whole.
   */
  async sendBatch(req: SendBatchRequest, ctx: HandlerContext) {
    if (req.messages.length < 1 || req.messages.length > MAX_BATCH_MESSAGES) {
      throw invalidArgument([
        { field: "messages", reason: "BATCH_SIZE_INVALID", description: `a batch holds 1 to ${MAX_BATCH_MESSAGES} messages` },
      ]);
    }
    const call = new TemplateCall();
    const outcomes = await Promise.all(
      req.messages.map(async (m, i) => {
        try {
          if (m.waitForAttempt) {
            throw invalidArgument([
              {
                field: `messages[${i}].wait_for_attempt`,
                reason: "WAIT_NOT_ALLOWED_IN_BATCH",
                description: "a batch never waits for attempts; watch the rows instead",
              },
            ]);
          }
          authorize(ctx, m.accountId);
          return await this.deps.commits.submit(await sendMessage(m, this.deps, call)).catch(fromOutboxError);
        } catch (err) {
          return clientError(this.deps.log, err, "SendBatch");
        }
      }),
    );
    return {
      results: outcomes.map((o) =>
        o instanceof ConnectError
          ? { result: { case: "error" as const, value: toStatus(o) } }
          : { result: { case: "outbox" as const, value: toProtoOutbox(o.row) }, idempotentReplay: o.replay },
      ),
    };
  }

  async reply(req: ReplyRequest, ctx: HandlerContext) {
    authorize(ctx, req.accountId);
    const msg = await replyMessage(req, this.deps);
    const { row, replay } = await this.commit(msg, req.waitForAttempt, ctx);
    return { outbox: toProtoOutbox(row), idempotentReplay: replay };
  }

  async retryOutbox(req: RetryOutboxRequest, ctx: HandlerContext) {
    const mode = failureMode(this.deps.config(), req.failureMode);
    const id = outboxId(req.outboxId);
    await this.mustGet(id, ctx);
    try {
      await this.deps.sender.retryNow(id, req.force, mode);
    } catch (err) {
      if (err instanceof SenderStoppedError)
        throw apiError(Code.Unavailable, "SERVER_STOPPING", "the server is stopping; retry on another instance");
      fromOutboxError(err);
    }
    return { outbox: toProtoOutbox(await this.mustGet(id, ctx)) };
  }

  async cancelOutbox(req: CancelOutboxRequest, ctx: HandlerContext) {
    const id = outboxId(req.outboxId);
    await this.mustGet(id, ctx);
    const row = await cancelOutbox(this.deps.pool, id, this.deps.clock.now()).catch(fromOutboxError);
    this.deps.tailer.notify();
    return { outbox: toProtoOutbox(row) };
  }

  async getOutbox(req: GetOutboxRequest, ctx: HandlerContext) {
    const row = await this.mustGet(outboxId(req.outboxId), ctx);
    const outbox = toProtoOutbox(row);
    outbox.recipients = (await recipientReports(this.deps.pool, row.id)).map(toProtoRecipient);
    return { outbox };
  }

  async getOutboxMessage(req: GetOutboxMessageRequest, ctx: HandlerContext) {
    const id = outboxId(req.outboxId);
    return this.detailReads.run(async () => {
      const row = await getOutboxContent(this.deps.pool, id);
      if (!row || !mayAccess(ctx, row.accountId)) throw outboxNotFound(id);
      return outboxMessage(this.deps.pool, row, this.deps.config().messageIdDomain);
    });
  }

  async getOutboxActivity(req: GetOutboxActivityRequest, ctx: HandlerContext) {
    return { minutes: await this.activity.minutes(accountFilter(ctx, req.accountId)) };
  }

  async listOutbox(req: ListOutboxRequest, ctx: HandlerContext) {
    const size = pageSize(req.pageSize);
    const beforeId = req.pageToken ? decodePageToken(req.pageToken) : undefined;
    const search = outboxQuery(req.query);
    const rows = await listOutbox(
      this.deps.pool,
      {
        accountIds: accountFilter(ctx, req.accountId),
        statuses: statuses(req.statuses),
        tags: tagFilter(req.tags),
        limit: size + 1,
        beforeId,
      },
      ...search,
    );
    const page = rows.slice(0, size);
    const more = rows.length > size;
    // The page's recipient reports in one query (by primary key), not one per row.
    const reports = await recipientReportsOf(
      this.deps.pool,
      page.map((r) => r.id),
    );
    const outboxes = page.map((r) => Object.assign(toProtoOutbox(r), { recipients: (reports.get(r.id) ?? []).map(toProtoRecipient) }));
    return { outboxes, nextPageToken: more ? encodePageToken(page[page.length - 1]!.id) : "" };
  }

  async *watchOutbox(req: WatchOutboxRequest, ctx: HandlerContext): AsyncGenerator<WatchOutboxResponse> {
    try {
      for await (const item of this.watchItems(req, ctx)) yield watchResponse(item, this.deps.clock.now());
    } catch (err) {
      throw watchError(err);
    }
  }

  /**
   * What a WatchOutbox stream carries, before it is put into messages (watch-grpc.ts frames the
   * same items itself). Throws what watchError() maps to the stream's status. It ends with the
   * stream's slot, which the transport put in the context.
   */
  watchItems(req: WatchOutboxRequest, ctx: HandlerContext): AsyncGenerator<WatchItem> {
    const { pool, tailer } = this.deps;
    const stream = ctx.values.get(STREAM_SLOT) ?? new StreamSlot(ctx.signal);
    return watchOutbox(
      { pool, tailer, heartbeatMs: this.deps.config().watch.heartbeatMs },
      {
        outboxIds: req.outboxIds.map(outboxId),
        accountIds: accountFilter(ctx, req.accountId),
        statuses: statuses(req.statuses),
        tags: tagFilter(req.tags),
        afterEventId: Number(req.afterEventId),
        includeCurrent: req.includeCurrent,
      },
      stream,
    );
  }

  /** Commits, wakes the local sender and watchers, and optionally waits for the first attempt. */
  private async commit(msg: NewMessage, wait: boolean, ctx: HandlerContext): Promise<{ row: OutboxRow; replay: boolean }> {
    const result = await this.deps.commits.submit(msg).catch(fromOutboxError);
    if (!wait) return result;
    return { row: await this.waitForAttempt(result.row, ctx), replay: result.replay };
  }

  /** Resolves with the row once an attempt finished (or it is scheduled later, or time is up). */
  private async waitForAttempt(row: OutboxRow, ctx: HandlerContext): Promise<OutboxRow> {
    const { signal } = ctx;
    const settled = (r: OutboxRow) =>
      (r.status !== "pending" && r.status !== "sending") || (r.status === "pending" && r.sendAt > this.deps.clock.now());
    if (settled(row)) return row;
    const { sub } = this.deps.tailer.subscribe({ outboxIds: new Set([row.id]) });
    const deadline = Date.now() + MAX_WAIT_MS;
    try {
      for (;;) {
        // Read after subscribing: a change between commit and subscribe is in the row.
        const current = await this.mustGet(row.id, ctx);
        if (settled(current) || signal.aborted || sub.ended || Date.now() >= deadline) return current;
        await sub.take(deadline - Date.now(), signal);
      }
    } finally {
      sub.close();
    }
  }

  /** Another account's row is refused exactly like a missing one: its existence is not shared. */
  private async mustGet(id: number, ctx: HandlerContext): Promise<OutboxRow> {
    const row = await getOutbox(this.deps.pool, id);
    if (!row || !mayAccess(ctx, row.accountId)) throw outboxNotFound(id);
    return row;
  }
}

/** The tag filter of ListOutbox and WatchOutbox. */
function tagFilter(input: Record<string, string>) {
  const v = new Violations();
  const filter = tags(v, "tags", input);
  v.check();
  return filter;
}

function outboxNotFound(id: number): ConnectError {
  return apiError(Code.NotFound, "OUTBOX_NOT_FOUND", "outbox record not found", { outbox_id: String(id) });
}

function outboxId(id: bigint): number {
  if (id < 1n || id > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw invalidArgument([{ field: "outbox_id", reason: "OUTBOX_ID_INVALID", description: "outbox_id must be a positive id" }]);
  }
  return Number(id);
}

/** The status filter; OUTBOX_STATUS_UNSPECIFIED means "any", as the enum documents. */
function statuses(values: readonly number[]) {
  if (values.includes(OutboxStatus.UNSPECIFIED)) return [];
  return values.map((s) => {
    const status = STATUS_FROM_PROTO.get(s);
    if (!status) throw invalidArgument([{ field: "statuses", reason: "STATUS_INVALID", description: "unknown status in filter" }]);
    return status;
  });
}

function snapshotEvent(row: OutboxRow) {
  const o = toProtoOutbox(row);
  return {
    eventId: 0n,
    kind: OutboxEventKind.SNAPSHOT,
    outboxId: o.outboxId,
    accountId: o.accountId,
    status: o.status,
    retries: o.retries,
    nextAttemptAt: o.nextAttemptAt,
    providerMessageId: o.providerMessageId,
    error: o.lastError,
    time: o.updateTime,
    messageId: o.messageId,
    relay: o.relay,
    tags: o.tags,
    metadata: o.metadata,
  };
}

/** One item of a WatchOutbox stream as its message. */
export function watchResponse(item: WatchItem, now: number): WatchOutboxResponse {
  if (item.kind === "event") return create(WatchOutboxResponseSchema, { message: { case: "event", value: toProtoEvent(item.event) } });
  if (item.kind === "snapshot") return create(WatchOutboxResponseSchema, { message: { case: "event", value: snapshotEvent(item.row) } });
  return create(WatchOutboxResponseSchema, {
    message: { case: "heartbeat", value: { lastEventId: BigInt(item.lastEventId), time: timestampFromMs(now) } },
  });
}

/** A stream cut off during its snapshot has no resume point: it starts again. */
const resume = (err: { lastEventId?: number }) =>
  err.lastEventId === undefined ? "start again with include_current" : "resume with after_event_id";
const resumeAt = (err: { lastEventId?: number }): Record<string, string> =>
  err.lastEventId === undefined ? {} : { last_event_id: String(err.lastEventId) };

/** How a WatchOutbox stream that ended early reports it; anything else is returned as it is. */
export function watchError(err: unknown): unknown {
  if (err instanceof WatchOverflowError)
    return apiError(Code.ResourceExhausted, "WATCH_BUFFER_OVERFLOW", `the stream fell too far behind; ${resume(err)}`, resumeAt(err));
  if (err instanceof WatchShutdownError)
    return apiError(Code.Unavailable, "SERVER_STOPPING", `the server is stopping; ${resume(err)}`, resumeAt(err));
  if (err instanceof WatchOutOfRangeError) return apiError(Code.OutOfRange, "EVENT_OUT_OF_RANGE", err.message);
  if (err instanceof WatchSnapshotTooLargeError) {
    return apiError(Code.FailedPrecondition, "WATCH_SNAPSHOT_TOO_LARGE", err.message, { limit: String(err.limit) });
  }
  return err;
}
