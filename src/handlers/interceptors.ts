// Turns errors that are not already API errors into statuses a client can act on, and keeps
// their causes in the log only: a lost database is UNAVAILABLE (retry later), anything else is
// INTERNAL with no detail.
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { Logger } from "../log.js";
import { apiError } from "./errors.js";

const DATABASE_DOWN = new Set([
  "ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "EHOSTUNREACH", "PROTOCOL_CONNECTION_LOST",
  "PROTOCOL_SEQUENCE_TIMEOUT", "ER_CON_COUNT_ERROR", "ER_SERVER_SHUTDOWN", "POOL_CLOSED", "ER_LOCK_WAIT_TIMEOUT",
]);

export function errorInterceptor(log: Logger): Interceptor {
  const translate = (err: unknown, method: string, signal: AbortSignal): ConnectError => {
    if (err instanceof ConnectError) return err;
    // The client went away (or its deadline passed): nobody hears the answer, nothing is wrong here.
    if (signal.aborted) {
      log.debug({ method, err: err instanceof Error ? err.message : String(err) }, "client went away");
      return ConnectError.from(signal.reason ?? err, Code.Canceled);
    }
    const code = (err as { code?: string }).code;
    if (code && DATABASE_DOWN.has(code)) {
      log.warn({ method, code }, "database unavailable");
      return apiError(Code.Unavailable, "DATABASE_UNAVAILABLE", "the database is unavailable; retry later");
    }
    log.error({ method, err: err instanceof Error ? { message: err.message, stack: err.stack } : String(err) }, "internal error");
    return apiError(Code.Internal, "INTERNAL", "internal error");
  };
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
        })(),
      };
    } catch (err) {
      throw translate(err, method, req.signal);
    }
  };
}
