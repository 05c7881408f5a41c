// The RPC request handler: connect's router behind a gate that runs before any body byte is
// read. The gate authenticates from the headers (a refused request is answered in its own
// protocol and its connection or stream is closed, so a client without a key can make the
// server hold no more than what sits in socket and HTTP/2 window buffers), and meters the body
// against the budget of request bytes in flight (RESOURCE_EXHAUSTED at once past it). Bytes that
// do not decode are answered INVALID_ARGUMENT, not INTERNAL (malformed-request.ts).
import { Code, ConnectError, createConnectRouter, createContextValues } from "@connectrpc/connect";
import {
  compressionBrotli,
  compressionGzip,
  universalRequestFromNodeRequest,
  universalResponseToNodeResponse,
  type ConnectNodeAdapterOptions,
} from "@connectrpc/connect-node";
import { authenticate } from "./auth/authenticate.js";
import type { ApiKey } from "./auth/keys.js";
import { PRINCIPAL } from "./auth/principal.js";
import type { Logger } from "../lib/log.js";
import type { RequestHandler } from "./listen.js";
import { budgetExhausted, type RequestBudget } from "./request-budget.js";
import { rewriteMalformed } from "./malformed-request.js";

/**
 * The largest request: room for attachments on every protocol (the default 32 MiB of attachments
 * is 42.7 MiB as base64 in Connect JSON). A larger call is refused with RESOURCE_EXHAUSTED before
 * it is buffered; a larger outbox_request is refused with REQUEST_TOO_LARGE and never read.
 */
export const READ_MAX_BYTES = 48 * 1024 * 1024;

type Req = Parameters<RequestHandler>[0];
type Res = Parameters<RequestHandler>[1];

export interface GateOptions {
  /** Read per request, so a reloaded config applies at once. */
  keys(): readonly ApiKey[];
  budget: RequestBudget;
  log: Logger;
}

export function gatedAdapter(options: ConnectNodeAdapterOptions & { fallback: RequestHandler }, gate: GateOptions): RequestHandler {
  const router = createConnectRouter({ acceptCompression: [compressionGzip, compressionBrotli], ...options });
  options.routes(router);
  const handlers = new Map(router.handlers.map((h) => [h.requestPath, h]));
  return (req, res) => {
    const handler = handlers.get(req.url?.split("?", 2)[0] ?? "");
    if (!handler) return options.fallback(req, res);
    const contextValues = createContextValues();
    let refusal: ConnectError | undefined;
    try {
      const principal = authenticate(gate.log, gate.keys(), handler.service.typeName, handler.method.name, one(req.headers.authorization));
      if (principal) contextValues.set(PRINCIPAL, principal);
    } catch (err) {
      refusal = ConnectError.from(err);
      stopReading(req, res);
    }
    const uReq = universalRequestFromNodeRequest(req, res, undefined, contextValues);
    const body = uReq.body as AsyncIterable<Uint8Array>;
    uReq.body = refusal ? refused(refusal) : metered(body, req, res, gate.budget);
    handler(uReq)
      .then((uRes) => universalResponseToNodeResponse(rewriteMalformed(uRes, one(req.headers["content-type"]) ?? ""), res))
      .catch((reason: unknown) => {
        // Writing the answer failed: the client went away. Nothing is wrong with the server.
        const err = ConnectError.from(reason);
        gate.log.debug({ method: handler.method.name, code: Code[err.code], err: err.rawMessage }, "client went away");
      });
  };
}

// biome-ignore lint/correctness/useYield: a body that fails before its first chunk, as a stream must.
async function* refused(err: ConnectError): AsyncGenerator<Uint8Array> {
  throw err;
}

/** The body, counted against the budget: what content-length declares up front, else each chunk. */
async function* metered(body: AsyncIterable<Uint8Array>, req: Req, res: Res, budget: RequestBudget): AsyncGenerator<Uint8Array> {
  let held = 0;
  let ended = false;
  res.once("close", () => {
    ended = true;
    budget.give(held);
  });
  const take = (bytes: number) => {
    if (ended) return;
    if (!budget.take(bytes)) {
      // Nothing more will be read: what was read so far is not needed either.
      budget.give(held);
      held = 0;
      stopReading(req, res);
      throw budgetExhausted(budget);
    }
    held += bytes;
  };
  const declared = /^\d{1,15}$/.test(one(req.headers["content-length"]) ?? "") ? Number(req.headers["content-length"]) : undefined;
  if (declared !== undefined) take(declared);
  for await (const chunk of body) {
    if (declared === undefined) take(chunk.byteLength);
    yield chunk;
  }
}

/**
 * The rest of a refused request is not read. HTTP/1.1 closes the connection after the answer;
 * on HTTP/2 the unread stream holds at most its flow-control window (64 KiB) until the client,
 * having the answer, cancels it (or the session times out).
 */
function stopReading(req: Req, res: Res): void {
  if (!("stream" in req) && !res.headersSent) res.setHeader("connection", "close");
}

function one(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
