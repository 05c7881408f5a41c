// Calls whose deadline has passed, or leaves too little time for even one database round trip,
// are refused before any work: such a call could not answer in time, and refusing it at once
// guarantees that it wrote nothing.
import { Code, type Interceptor } from "@connectrpc/connect";
import { apiError } from "./handlers/errors.js";

export const MIN_DEADLINE_MS = 10;

const GRPC_UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };

/** The time budget the client sent (gRPC, gRPC-Web or Connect header), in ms; undefined if none. */
export function budgetMs(header: Headers): number | undefined {
  const connect = header.get("connect-timeout-ms");
  if (connect !== null && /^\d{1,10}$/.test(connect)) return Number(connect);
  const grpc = /^(\d{1,8})([HMSmun])$/.exec(header.get("grpc-timeout") ?? "");
  return grpc ? Number(grpc[1]) * GRPC_UNIT_MS[grpc[2]!]! : undefined;
}

/** Throws DEADLINE_EXCEEDED for a call that has (almost) no time left. */
export function refuseSpentDeadline(budget: number | undefined, aborted = false): void {
  if (aborted || (budget !== undefined && budget < MIN_DEADLINE_MS)) {
    throw apiError(Code.DeadlineExceeded, "DEADLINE_EXCEEDED", `the deadline leaves less than ${MIN_DEADLINE_MS} ms; nothing was done`);
  }
}

export function deadlineInterceptor(): Interceptor {
  return (next) => async (req) => {
    refuseSpentDeadline(budgetMs(req.header), req.signal.aborted);
    return next(req);
  };
}
