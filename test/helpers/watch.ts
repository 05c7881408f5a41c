// WatchOutbox over every kind of client, reduced to one shape tests assert on: what arrived, in
// order, and how the stream ended (code, ErrorInfo reason and metadata).
import { fileURLToPath } from "node:url";
import { vi } from "vitest";
import { type Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { EmailService, OutboxEventKind, type WatchOutboxResponse } from "../../gen/email/v1/email_service_pb.js";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import type { OutboxStatus } from "../../gen/email/v1/outbox_pb.js";
import type { App } from "../../src/app/app.js";
import type { Pool } from "../../src/db/pool.js";
import { lastEventId, readEventsAfter } from "../../src/outbox/events.js";
import { TRANSPORTS, type TransportName } from "./clients.js";

export type WatchTransport = TransportName | "grpc-js";

export interface WatchRequest {
  outboxIds?: number[];
  accountId?: number;
  statuses?: OutboxStatus[];
  afterEventId?: number;
  includeCurrent?: boolean;
}

export interface SeenEvent {
  /** 0 for a SNAPSHOT. */
  eventId: number;
  kind: OutboxEventKind;
  outboxId: number;
  accountId: number;
  status: OutboxStatus;
  retries: number;
  messageId: string;
  providerMessageId: string;
  error: string;
  /** Milliseconds since the epoch, when set. */
  nextAttemptAt: number | undefined;
  hasTime: boolean;
}

export type Seen = { type: "event"; event: SeenEvent } | { type: "heartbeat"; lastEventId: number };

export interface StreamEnd {
  /** undefined when the server ended the stream cleanly. */
  code: Code | undefined;
  /** The error's message, when it ended with one. */
  message?: string;
  reason?: string;
  metadata: Record<string, string>;
}

export interface Watcher {
  /** Everything received so far, in order. */
  readonly seen: Seen[];
  /** The events (and snapshots) received so far. */
  events(): SeenEvent[];
  heartbeats(): number[];
  /** Settles when the stream ends, however it ends. */
  readonly ended: Promise<StreamEnd>;
  /** Polls until `check` holds (or throws on timeout). */
  until(check: (w: Watcher) => boolean, timeoutMs?: number): Promise<void>;
  cancel(): void;
}

/** Opens a stream and collects it in the background. */
export function watch(baseUrl: string, transport: WatchTransport, req: WatchRequest = {}): Watcher {
  const seen: Seen[] = [];
  const { ended, cancel } = transport === "grpc-js" ? grpcJsStream(baseUrl, req, seen) : connectStream(baseUrl, transport, req, seen);
  const w: Watcher = {
    seen,
    ended,
    cancel,
    events: () => seen.flatMap((s) => (s.type === "event" ? [s.event] : [])),
    heartbeats: () => seen.flatMap((s) => (s.type === "heartbeat" ? [s.lastEventId] : [])),
    until: (check, timeoutMs = 15_000) =>
      vi.waitFor(
        () => {
          if (!check(w)) throw new Error(`watcher condition not met after ${seen.length} messages`);
        },
        { timeout: timeoutMs, interval: 10 },
      ),
  };
  return w;
}

/**
 * A gRPC stream the test pulls by hand: nothing is read until drain(), so the server sees a
 * consumer that stops reading. Its small HTTP/2 window makes flow control push back early.
 */
export function pausedWatch(baseUrl: string, req: WatchRequest) {
  const ac = new AbortController();
  const transport = createGrpcTransport({ baseUrl, nodeOptions: { settings: { initialWindowSize: 1024 } } });
  const it = createClient(EmailService, transport).watchOutbox(connectRequest(req), { signal: ac.signal })[Symbol.asyncIterator]();
  return {
    /** Reads everything that is left; returns it and how the stream ended. */
    async drain(): Promise<{ seen: Seen[]; end: StreamEnd }> {
      const seen: Seen[] = [];
      try {
        for (let r = await it.next(); !r.done; r = await it.next()) seen.push(fromConnect(r.value));
        return { seen, end: { code: undefined, metadata: {} } };
      } catch (e) {
        return { seen, end: connectEnd(e) };
      }
    },
    cancel: () => ac.abort(),
  };
}

function connectRequest(req: WatchRequest) {
  return {
    outboxIds: (req.outboxIds ?? []).map(BigInt),
    accountId: req.accountId ?? 0,
    statuses: req.statuses ?? [],
    afterEventId: BigInt(req.afterEventId ?? 0),
    includeCurrent: req.includeCurrent ?? false,
  };
}

function connectStream(baseUrl: string, transport: TransportName, req: WatchRequest, seen: Seen[]) {
  const ac = new AbortController();
  const client = createClient(EmailService, TRANSPORTS[transport](baseUrl));
  const ended = (async (): Promise<StreamEnd> => {
    try {
      for await (const res of client.watchOutbox(connectRequest(req), { signal: ac.signal })) seen.push(fromConnect(res));
      return { code: undefined, metadata: {} };
    } catch (e) {
      return connectEnd(e);
    }
  })();
  return { ended, cancel: () => ac.abort() };
}

function connectEnd(e: unknown): StreamEnd {
  const err = ConnectError.from(e);
  const [info] = err.findDetails(ErrorInfoSchema);
  return { code: err.code, message: err.rawMessage, reason: info?.reason, metadata: { ...info?.metadata } };
}

function fromConnect(res: WatchOutboxResponse): Seen {
  const m = res.message;
  if (m.case === "heartbeat") return { type: "heartbeat", lastEventId: Number(m.value.lastEventId) };
  if (m.case !== "event") throw new Error("a WatchOutboxResponse with neither event nor heartbeat");
  const e = m.value;
  return {
    type: "event",
    event: {
      eventId: Number(e.eventId),
      kind: e.kind,
      outboxId: Number(e.outboxId),
      accountId: e.accountId,
      status: e.status,
      retries: e.retries,
      messageId: e.messageId,
      providerMessageId: e.providerMessageId,
      error: e.error,
      nextAttemptAt: e.nextAttemptAt && timestampMs(e.nextAttemptAt),
      hasTime: !!e.time,
    },
  };
}

function grpcJsMs(t: { seconds: string; nanos: number }): number {
  return Number(t.seconds) * 1000 + Math.floor(t.nanos / 1e6);
}

const PROTO_DIR = fileURLToPath(new URL("../../proto", import.meta.url));

type GrpcJsMessage = {
  message: "event" | "heartbeat";
  event?: Record<string, string | number | object>;
  heartbeat?: { last_event_id: string };
};

/** grpc-js server streaming on the .proto itself (snake_case fields, enums as numbers). */
function grpcJsStream(baseUrl: string, req: WatchRequest, seen: Seen[]) {
  const def = protoLoader.loadSync("email/v1/email_service.proto", {
    includeDirs: [PROTO_DIR],
    keepCase: true,
    longs: String,
    enums: Number,
    defaults: true,
    oneofs: true,
  });
  const Service = grpc.loadPackageDefinition(def).email as { v1: { EmailService: grpc.ServiceClientConstructor } };
  const client = new Service.v1.EmailService(new URL(baseUrl).host, grpc.credentials.createInsecure());
  const call = (client.WatchOutbox as (r: unknown) => grpc.ClientReadableStream<GrpcJsMessage>).call(client, {
    outbox_ids: (req.outboxIds ?? []).map(String),
    account_id: req.accountId ?? 0,
    statuses: req.statuses ?? [],
    after_event_id: String(req.afterEventId ?? 0),
    include_current: req.includeCurrent ?? false,
  });
  call.on("data", (m: GrpcJsMessage) => {
    if (m.message === "heartbeat") {
      seen.push({ type: "heartbeat", lastEventId: Number(m.heartbeat!.last_event_id) });
      return;
    }
    const e = m.event!;
    seen.push({
      type: "event",
      event: {
        eventId: Number(e.event_id),
        kind: e.kind as OutboxEventKind,
        outboxId: Number(e.outbox_id),
        accountId: e.account_id as number,
        status: e.status as OutboxStatus,
        retries: e.retries as number,
        messageId: e.message_id as string,
        providerMessageId: e.provider_message_id as string,
        error: e.error as string,
        nextAttemptAt: e.next_attempt_at ? grpcJsMs(e.next_attempt_at as { seconds: string; nanos: number }) : undefined,
        hasTime: !!e.time,
      },
    });
  });
  call.on("error", () => undefined); // the status event below reports it
  const ended = new Promise<StreamEnd>((resolve) => {
    call.on("status", (s: grpc.StatusObject) => {
      client.close();
      resolve({ code: s.code === grpc.status.OK ? undefined : (s.code as number as Code), metadata: {} });
    });
  });
  return { ended, cancel: () => call.cancel() };
}

/** Every event id in the table after `afterId`, oldest first. */
export async function eventIdsAfter(app: App, afterId: number): Promise<number[]> {
  return (await readEventsAfter(app.pool, afterId, 1_000_000)).map((e) => e.id);
}

/** Waits until these rows are SENT and, with `tailerToo`, the tailer has read every event up to the newest. */
export function untilSent(app: App, outboxIds: number[], opts: { tailerToo?: boolean } = {}): Promise<void> {
  return vi.waitFor(
    async () => {
      const [rows] = (await app.pool.query("SELECT COUNT(*) AS n FROM outbox WHERE id IN (?) AND status = 'sent'", [
        outboxIds,
      ])) as unknown as [{ n: number }[]];
      if (Number(rows[0]!.n) !== outboxIds.length) throw new Error(`${rows[0]!.n} of ${outboxIds.length} rows sent`);
      if (opts.tailerToo && app.tailer.lastId !== (await lastEventId(app.pool))) throw new Error("the tailer has not read every event");
    },
    { timeout: 20_000, interval: 50 },
  );
}

/** Waits until the process holds exactly `n` live subscriptions. */
export function subscribersReach(app: App, n: number, timeoutMs = 10_000): Promise<void> {
  return vi.waitFor(
    () => {
      if (app.tailer.subscriberCount !== n) throw new Error(`${app.tailer.subscriberCount} subscriptions, want ${n}`);
    },
    { timeout: timeoutMs, interval: 10 },
  );
}

/**
 * Resolves once every stream is live: its first heartbeat came, so its start point is fixed (the
 * newest committed event when it read it). A subscription counts before that point is read, so
 * events committed in between are, by design, not this stream's.
 */
export async function streamsLive(watchers: readonly Watcher[], timeoutMs = 15_000): Promise<void> {
  for (const w of watchers) await w.until((x) => x.heartbeats().length > 0, timeoutMs);
}

/** The ids of the events (not snapshots) seen. */
export function ids(events: SeenEvent[]): number[] {
  return events.filter((e) => e.kind !== OutboxEventKind.SNAPSHOT).map((e) => e.eventId);
}

/** Transactions of this database now waiting for a row lock (e.g. for the event counter). */
export async function lockWaits(pool: Pool): Promise<number> {
  const [rows] = (await pool.query(
    `SELECT COUNT(*) AS n FROM information_schema.INNODB_TRX t
       JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id
      WHERE t.trx_state = 'LOCK WAIT' AND p.DB = DATABASE()`,
  )) as unknown as [{ n: number }[]];
  return Number(rows[0]!.n);
}
