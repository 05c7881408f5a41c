// WatchOutbox over gRPC with binary protobuf, served without a per-message stream pipeline: an
// event is encoded and framed once, and the same bytes are written to every stream it matches.
// With a thousand streams open, the per-stream work of a general-purpose pipeline (several async
// steps and an encode per message) was what delayed the last stream's copy. The stream's content
// (snapshot, catch-up, live tail, heartbeats, errors) comes from the same handler code as on
// every other protocol; gRPC-Web, Connect and JSON requests go through the RPC router as before.
import http2 from "node:http2";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, type ConnectError } from "@connectrpc/connect";
import { EmailService, WatchOutboxRequestSchema, WatchOutboxResponseSchema } from "../../gen/email/v1/email_service_pb.js";
import type { ApiKey } from "./auth/keys.js";
import { ANONYMOUS, PRINCIPAL } from "./auth/principal.js";
import type { Clock } from "../db/clock.js";
import { apiError } from "./handlers/errors.js";
import { clientError } from "./handlers/interceptors.js";
import { watchError, watchResponse, type EmailServiceHandlers } from "./handlers/email-service.js";
import type { Logger } from "../lib/log.js";
import type { Metrics } from "../metrics/metrics.js";
import { codeName } from "../metrics/rpc-interceptor.js";
import type { EventRow } from "../outbox/types.js";
import type { WatchItem } from "../events/watch/stream.js";
import { STREAM_SLOT, type StreamSlot, type WatchStreamSlots } from "./stream-limits.js";
import { callContext, frame, GRPC_RESPONSE_HEAD, isPlainGrpc, onlyMessage, readBody, statusTrailers } from "./grpc-frames.js";
import type { RequestHandler } from "./listen.js";

export interface WatchGrpcDeps {
  handlers: EmailServiceHandlers;
  keys(): readonly ApiKey[];
  /** The same caps on open streams as through the router. */
  slots: WatchStreamSlots;
  clock: Clock;
  metrics: Metrics;
  log: Logger;
}

const METHOD = EmailService.method.watchOutbox;
const PATH = `/${EmailService.typeName}/${METHOD.name}`;
/** A WatchOutboxRequest is ids and filters: far below this. */
const MAX_REQUEST_BYTES = 1024 * 1024;

/**
 * Serves the request when it is WatchOutbox over gRPC (HTTP/2, protobuf, uncompressed) and
 * returns true; anything else is left to the router (false).
 */
export function watchOverGrpc(deps: WatchGrpcDeps): (...args: Parameters<RequestHandler>) => boolean {
  // The framed bytes of each event, shared by every stream it goes to; an event row is one object
  // offered to all subscriptions, so the entry goes once the last stream let go of it.
  const frames = new WeakMap<EventRow, Uint8Array>();
  const frameOf = (item: WatchItem): Uint8Array => {
    if (item.kind !== "event") return frame(toBinary(WatchOutboxResponseSchema, watchResponse(item, deps.clock.now())));
    let bytes = frames.get(item.event);
    if (!bytes) frames.set(item.event, (bytes = frame(toBinary(WatchOutboxResponseSchema, watchResponse(item, 0)))));
    return bytes;
  };
  return (req, res) => {
    if (req.url !== PATH || !isPlainGrpc(req)) return false;
    void serve(deps, frameOf, req, res as http2.Http2ServerResponse);
    return true;
  };
}

async function serve(
  deps: WatchGrpcDeps,
  frameOf: (item: WatchItem) => Uint8Array,
  req: http2.Http2ServerRequest,
  res: http2.Http2ServerResponse,
): Promise<void> {
  const labels = { grpc_service: EmailService.typeName, grpc_method: METHOD.name, grpc_type: METHOD.methodKind };
  const stopTimer = deps.metrics.rpcSeconds.startTimer(labels);
  // The HTTP/2 stream closed: cancelled, reset, its connection closed or gone away.
  const gone = new AbortController();
  res.once("close", () => gone.abort());
  let status: ConnectError | undefined;
  let slot: StreamSlot | undefined;
  // Frames written whose bytes the client's flow-control window has not let out yet.
  let unsent = 0;
  const sent = () => void unsent--;
  try {
    const ctx = callContext(req, EmailService, METHOD, deps, gone.signal);
    // Ends with the call (gone, deadline) or when the stream is cut off, and then frees the slot.
    slot = deps.slots.take((ctx.values.get(PRINCIPAL) ?? ANONYMOUS).keyId, ctx.signal);
    slot.unsent = () => unsent;
    ctx.values.set(STREAM_SLOT, slot);
    let size = 0;
    const take = (bytes: number) => {
      if ((size += bytes) > MAX_REQUEST_BYTES)
        throw apiError(Code.ResourceExhausted, "REQUEST_TOO_LARGE", `a WatchOutbox request is at most ${MAX_REQUEST_BYTES} bytes`);
    };
    const request = decodeRequest(onlyMessage(await readBody(req, take, ctx.signal), MAX_REQUEST_BYTES));
    res.writeHead(200, GRPC_RESPONSE_HEAD);
    for await (const item of deps.handlers.watchItems(request, ctx)) {
      if (slot.signal.aborted) break;
      unsent++;
      if (!res.write(frameOf(item), sent)) await drained(res, slot.signal);
      if (slot.signal.aborted) break;
    }
    if (slot.signal.aborted && !gone.signal.aborted) status = clientError(deps.log, watchError(slot.signal.reason), METHOD.name);
  } catch (err) {
    status = clientError(deps.log, watchError(err), METHOD.name);
  } finally {
    slot?.end(status);
    stopTimer();
    deps.metrics.rpcHandled.inc({ ...labels, grpc_code: status ? codeName(status) : gone.signal.aborted ? "CANCELLED" : "OK" });
    if (!gone.signal.aborted) finish(res, status, unsent);
  }
}

/**
 * Ends the stream with its status in the trailers (headers and trailers only, for an early error).
 * A stream cut off for falling behind while frames it was sent are still unsent is reset instead
 * (ENHANCE_YOUR_CALM, which gRPC clients report as RESOURCE_EXHAUSTED): its trailers would wait
 * behind those frames, and the frames in memory, for as long as the client does not read.
 */
function finish(res: http2.Http2ServerResponse, status: ConnectError | undefined, unsent: number): void {
  if (unsent > 0 && status?.code === Code.ResourceExhausted) return void res.stream.close(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
  if (!res.headersSent) res.writeHead(200, GRPC_RESPONSE_HEAD);
  res.addTrailers(statusTrailers(status));
  res.end();
}

function decodeRequest(bytes: Uint8Array) {
  try {
    return fromBinary(WatchOutboxRequestSchema, bytes);
  } catch {
    throw apiError(Code.InvalidArgument, "REQUEST_MALFORMED", "the request is not a valid WatchOutboxRequest");
  }
}

/** Resolves when the client took enough to write more, or the stream ended (perhaps already). */
function drained(res: http2.Http2ServerResponse, ended: AbortSignal): Promise<void> {
  if (ended.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      res.off("drain", done);
      ended.removeEventListener("abort", done);
      resolve();
    };
    res.once("drain", done);
    ended.addEventListener("abort", done, { once: true });
  });
}
