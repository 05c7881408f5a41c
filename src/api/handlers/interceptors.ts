// Turns errors that are not already API errors into statuses a client can act on, and keeps
// their causes in the log only: a lost database is UNAVAILABLE (retry later), a client that went
// away mid-stream is CANCELLED (its business, logged at debug), anything else is INTERNAL with no
// detail.
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { Logger } from "../../lib/log.js";
import { apiError } from "./errors.js";

const DATABASE_DOWN = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "PROTOCOL_CONNECTION_LOST",
  "PROTOCOL_SEQUENCE_TIMEOUT",
  "ER_CON_COUNT_ERROR",
  "ER_SERVER_SHUTDOWN",
  "POOL_CLOSED",
  "ER_LOCK_WAIT_TIMEOUT",
]);

/**
 * An error as the client may see it; the cause of one that is not an API error is logged only.
 * With the call's signal, a call the client reset is CANCELED (nothing went wrong here).
 */
export function clientError(log: Logger, err: unknown, method: string, signal?: AbortSignal): ConnectError {
  if (err instanceof ConnectError) return err;
  const code = (err as { code?: string }).code;
  // The client went away or reset the call (reading its request stream then fails with
  // "Premature close"), or its deadline passed: nobody hears the answer, nothing is wrong here.
  if (signal?.aborted) {
    const deadline = ConnectError.from(signal.reason).code === Code.DeadlineExceeded;
    log.debug({ method, code, err: err instanceof Error ? err.message : String(err) }, "client cancelled the call");
    return deadline ? ConnectError.from(signal.reason) : new ConnectError("the client cancelled the call", Code.Canceled);
  }
  if (code && DATABASE_DOWN.has(code)) {
    log.warn({ method, code }, "database unavailable");
    return apiError(Code.Unavailable, "DATABASE_UNAVAILABLE", "the database is unavailable; retry later");
  }
  log.error({ method, err: err instanceof Error ? { message: err.message, stack: err.stack } : String(err) }, "internal error");
  return apiError(Code.Internal, "INTERNAL", "internal error");
}

export function errorInterceptor(log: Logger): Interceptor {
  const translate = (err: unknown, method: string, signal: AbortSignal) => clientError(log, err, method, signal);
  return (next) => async (req) => {
    const method = req.method.name;
    try {
      const res = await next(req);
      if (!res.stream) return res;
      const source = res.message;
      return {
        ...res,
        message: (async function* () {
          try {
            yield* source;
          } catch (err) {
            throw translate(err, method, req.signal);
          }
          // A client's reset can end its request stream cleanly, the abort landing a moment later:
          // a stream that ended so is the client's cancel, not a success.
          if (!req.signal.aborted) await new Promise((resolve) => setImmediate(resolve));
          if (req.signal.aborted) throw translate(new Error("the client closed the stream"), method, req.signal);
        })(),
      };
    } catch (err) {
      throw translate(err, method, req.signal);
    }
  };
}
