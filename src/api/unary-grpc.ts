// Unary calls over gRPC (HTTP/2, binary protobuf, uncompressed) served without connect's per-call
// pipeline. Measured with `npm run bench:rpc-servers` (docs/performance.md), one unary call cost
// the server about 5× the CPU through connect-node that it costs through @grpc/grpc-js's server or
// a plain node:http2 handler: an AbortController and three Headers a call, a chain of async
// iterables, and the garbage they leave. grpc-js's server cannot share the port (it takes whole
// connections, and Connect and gRPC-Web come over HTTP/2 too), so this path takes the calls it can
// and calls the very handlers the router would, with the same key check, request budget and size
// limit, deadline rule, error translation (clientError), status trailers and metrics. Everything
// else (gRPC-Web, Connect, JSON, compressed, streaming) goes through the router as before.
import type http2 from "node:http2";
import { create, type DescMessage, type DescMethodUnary, type DescService, fromBinary, isMessage, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import type { ApiKey } from "./auth/keys.js";
import { callContext, frame, GRPC_RESPONSE_HEAD, isPlainGrpc, onlyMessage, readBody, statusTrailers } from "./grpc-frames.js";
import { apiError } from "./handlers/errors.js";
import { clientError } from "./handlers/interceptors.js";
import type { Logger } from "../lib/log.js";
import type { RequestHandler } from "./listen.js";
import type { Metrics } from "../metrics/metrics.js";
import { codeName } from "../metrics/rpc-interceptor.js";
import { budgetExhausted, type RequestBudget } from "./request-budget.js";

/** A service and its implementation, as the router gets them. */
export interface ServedService {
  service: DescService;
  // biome-ignore lint/suspicious/noExplicitAny: any ServiceImpl; methods are looked up by name.
  impl: Record<string, any>;
}

export interface UnaryGrpcDeps {
  services: readonly ServedService[];
  keys(): readonly ApiKey[];
  budget: RequestBudget;
  /** The largest request body, as the router's readMaxBytes. */
  readMaxBytes: number;
  metrics: Metrics;
  log: Logger;
}

interface Method {
  service: DescService;
  method: DescMethodUnary;
  call(input: unknown, ctx: HandlerContext): unknown;
}

/** Serves the request when it is a unary call over plain gRPC and returns true; false leaves it to the router. */
export function unaryOverGrpc(deps: UnaryGrpcDeps): (...args: Parameters<RequestHandler>) => boolean {
  const methods = new Map<string, Method>();
  for (const { service, impl } of deps.services) {
    for (const method of service.methods) {
      if (method.methodKind !== "unary") continue;
      const fn = impl[method.localName];
      if (typeof fn !== "function") continue;
      methods.set(`/${service.typeName}/${method.name}`, { service, method: method as DescMethodUnary, call: fn.bind(impl) });
    }
  }
  return (req, res) => {
    const method = methods.get(req.url ?? "");
    if (!method || !isPlainGrpc(req)) return false;
    void serve(deps, method, req, res as http2.Http2ServerResponse);
    return true;
  };
}

async function serve(deps: UnaryGrpcDeps, m: Method, req: http2.Http2ServerRequest, res: http2.Http2ServerResponse): Promise<void> {
  const labels = { grpc_service: m.service.typeName, grpc_method: m.method.name, grpc_type: m.method.methodKind };
  const stopTimer = deps.metrics.rpcSeconds.startTimer(labels);
  // The HTTP/2 stream closed before the answer: cancelled, reset, its connection gone.
  const gone = new AbortController();
  const onClose = () => gone.abort();
  res.once("close", onClose);
  let signal = gone.signal;
  let held = 0;
  let status: ConnectError | undefined;
  let answer: Uint8Array | undefined;
  try {
    const ctx = callContext(req, m.service, m.method, deps, gone.signal);
    signal = ctx.signal;
    const take = (bytes: number) => {
      // The frame's five bytes on top of the largest message.
      if (held + bytes > deps.readMaxBytes + 5) {
        throw new ConnectError(
          `message size ${held + bytes} is larger than configured readMaxBytes ${deps.readMaxBytes}`,
          Code.ResourceExhausted,
        );
      }
      if (!deps.budget.take(bytes)) throw budgetExhausted(deps.budget);
      held += bytes;
    };
    const input = decode(m.method.input, onlyMessage(await readBody(req, take, signal), deps.readMaxBytes));
    const output = await m.call(input, ctx);
    const message = isMessage(output, m.method.output) ? output : create(m.method.output, output as never);
    answer = frame(toBinary(m.method.output, message));
  } catch (err) {
    status = clientError(deps.log, err, m.method.name, signal);
  } finally {
    deps.budget.give(held);
    res.off("close", onClose);
    stopTimer();
    deps.metrics.rpcHandled.inc({ ...labels, grpc_code: status ? codeName(status) : gone.signal.aborted ? "CANCELLED" : "OK" });
  }
  if (gone.signal.aborted || res.writableEnded) return;
  // The head, the message and the trailers in one go; an error is headers and trailers only.
  res.writeHead(200, GRPC_RESPONSE_HEAD);
  res.addTrailers(statusTrailers(status));
  if (answer) res.end(answer);
  else res.end();
}

function decode(schema: DescMessage, bytes: Uint8Array) {
  try {
    return fromBinary(schema, bytes);
  } catch (err) {
    throw apiError(Code.InvalidArgument, "REQUEST_MALFORMED", `the request is not a valid protobuf message: ${(err as Error).message}`);
  }
}
