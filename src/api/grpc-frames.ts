// The gRPC wire pieces the framed paths (unary-grpc.ts, watch-grpc.ts) share: which requests they
// take, the call's context from its headers, the request's body, a message's 5-byte frame, and
// the status in the trailers.
import type http2 from "node:http2";
import type { DescMethod, DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, createContextValues, createHandlerContext, type HandlerContext } from "@connectrpc/connect";
import { parseTimeout, setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { authenticate } from "./auth/authenticate.js";
import type { ApiKey } from "./auth/keys.js";
import { PRINCIPAL } from "./auth/principal.js";
import { refuseSpentDeadline } from "./deadline.js";
import type { Logger } from "../lib/log.js";
import type { RequestHandler } from "./listen.js";

/** The response head of every framed answer: what connect-node writes for an uncompressed call. */
export const GRPC_RESPONSE_HEAD = { "content-type": "application/grpc+proto" };

/**
 * A gRPC call over HTTP/2 with binary protobuf and no compression: what the framed paths serve.
 * Anything else (gRPC-Web, Connect, JSON, a compressed body) is the router's.
 */
export function isPlainGrpc(req: Parameters<RequestHandler>[0]): req is http2.Http2ServerRequest {
  if (req.httpVersionMajor !== 2 || req.method !== "POST") return false;
  const type = req.headers["content-type"];
  const encoding = req.headers["grpc-encoding"];
  return (type === "application/grpc" || type === "application/grpc+proto") && (encoding === undefined || encoding === "identity");
}

/**
 * The call's context from its headers alone, before any byte of the body is read: the caller
 * (refused here, as the router's gate refuses), the deadline, and a signal that also ends when
 * `requestSignal` does.
 */
export function callContext(
  req: http2.Http2ServerRequest,
  service: DescService,
  method: DescMethod,
  auth: { keys(): readonly ApiKey[]; log: Logger },
  requestSignal: AbortSignal,
): HandlerContext {
  const header = requestHeaders(req);
  const principal = authenticate(auth.log, auth.keys(), service.typeName, method.name, header.get("authorization"));
  return createHandlerContext({
    service,
    method,
    protocolName: "grpc",
    requestMethod: "POST",
    url: req.url,
    timeoutMs: callTimeoutMs(req),
    requestSignal,
    requestHeader: header,
    contextValues: principal ? createContextValues().set(PRINCIPAL, principal) : undefined,
  });
}

function requestHeaders(req: http2.Http2ServerRequest): Headers {
  const header = new Headers();
  for (const [key, value] of Object.entries(req.headers)) {
    if (key.startsWith(":") || value === undefined) continue;
    header.set(key, Array.isArray(value) ? value.join(", ") : value);
  }
  return header;
}

/**
 * The whole request body. `take` sees each chunk's size before it is kept and throws to refuse
 * the rest, which is then left unread (the client, answered, resets the stream); `signal` ends
 * the wait (the call's deadline, or the stream closed).
 */
export function readBody(req: http2.Http2ServerRequest, take: (bytes: number) => void, signal: AbortSignal): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const done = (err?: unknown) => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", done);
      signal.removeEventListener("abort", onAbort);
      if (err === undefined) return resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
      req.pause();
      reject(err);
    };
    const onData = (chunk: Buffer) => {
      try {
        take(chunk.length);
      } catch (err) {
        return done(err);
      }
      chunks.push(chunk);
    };
    const onEnd = () => done();
    const onAbort = () => done(signal.reason);
    if (signal.aborted) return onAbort();
    req.on("data", onData);
    req.once("end", onEnd);
    req.once("error", done);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * The one message of a unary (or server-streaming) call's body: a flag byte (0: not compressed),
 * a length, the bytes. Refused with the codes and words of connect's own gRPC handler.
 */
export function onlyMessage(body: Uint8Array, readMaxBytes: number): Uint8Array {
  if (body.length === 0) throw new ConnectError("protocol error: missing input message for unary method", Code.Unimplemented);
  const length = body.length >= 5 ? new DataView(body.buffer, body.byteOffset, body.byteLength).getUint32(1) : 0;
  if (length > readMaxBytes) {
    throw new ConnectError(`message size ${length} is larger than configured readMaxBytes ${readMaxBytes}`, Code.ResourceExhausted);
  }
  if (body.length < 5 + length) throw new ConnectError("protocol error: incomplete envelope", Code.InvalidArgument);
  if (body[0] !== 0) throw new ConnectError("received compressed envelope, but do not know how to decompress", Code.Internal);
  if (body.length > 5 + length) throw new ConnectError("protocol error: received extra input message for unary method", Code.Unimplemented);
  return body.subarray(5);
}

/** The call's grpc-timeout in ms (undefined: none); a malformed or spent one is refused. */
function callTimeoutMs(req: http2.Http2ServerRequest): number | undefined {
  const value = req.headers["grpc-timeout"];
  const { timeoutMs, error } = parseTimeout(typeof value === "string" ? value : null, Number.MAX_SAFE_INTEGER);
  if (error) throw error;
  refuseSpentDeadline(timeoutMs);
  return timeoutMs;
}

export function frame(message: Uint8Array): Uint8Array {
  const out = new Uint8Array(5 + message.length);
  new DataView(out.buffer).setUint32(1, message.length);
  out.set(message, 5);
  return out;
}

/** grpc-status (and grpc-message, grpc-status-details-bin for an error) as trailers. */
export function statusTrailers(status: ConnectError | undefined): Record<string, string> {
  if (!status) return { "grpc-status": "0" };
  const trailers: Record<string, string> = {};
  setTrailerStatus(new Headers(), status).forEach((value, key) => (trailers[key] = value));
  return trailers;
}
