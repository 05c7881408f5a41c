// Counts every RPC by method and gRPC status code and times it. It runs outermost, so it sees the
// codes clients see (after the error interceptor has translated internal errors).
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { Metrics } from "./metrics.js";

export function rpcMetricsInterceptor(metrics: Metrics): Interceptor {
  return (next) => async (req) => {
    const labels = { grpc_service: req.service.typeName, grpc_method: req.method.name, grpc_type: req.method.methodKind };
    const stopTimer = metrics.rpcSeconds.startTimer(labels);
    const done = (code: string) => {
      stopTimer();
      metrics.rpcHandled.inc({ ...labels, grpc_code: code });
    };
    let res;
    try {
      res = await next(req);
    } catch (err) {
      done(codeName(err));
      throw err;
    }
    if (!res.stream) {
      done("OK");
      return res;
    }
    const source = res.message;
    return {
      ...res,
      message: (async function* () {
        let code = "OK";
        try {
          yield* source;
        } catch (err) {
          code = codeName(err);
          throw err;
        } finally {
          // A stream the client walked away from ends here without an error.
          done(code === "OK" && req.signal.aborted ? "CANCELLED" : code);
        }
      })(),
    };
  };
}

/** The gRPC name of an error's status code, e.g. INVALID_ARGUMENT. */
export function codeName(err: unknown): string {
  const code = ConnectError.from(err).code;
  if (code === Code.Canceled) return "CANCELLED";
  return Code[code].replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
}
