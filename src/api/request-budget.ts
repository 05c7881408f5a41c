// One budget for the request bytes held in memory by all requests in flight: a request takes
// what it declares (content-length) or what it reads, and gives it back when its response ends.
// A request that does not fit is refused at once instead of growing the heap.
import { Code, type ConnectError } from "@connectrpc/connect";
import { apiError } from "./handlers/errors.js";

export class RequestBudget {
  private used = 0;

  constructor(private readonly limit: number) {}

  /** Bytes taken by requests in flight. */
  get inUse(): number {
    return this.used;
  }

  /** Takes `bytes` if they fit; false (taking nothing) if not. */
  take(bytes: number): boolean {
    if (this.used + bytes > this.limit) return false;
    this.used += bytes;
    return true;
  }

  give(bytes: number): void {
    this.used = Math.max(0, this.used - bytes);
  }
}

/** The refusal of a request the budget has no room for. */
export function budgetExhausted(budget: RequestBudget): ConnectError {
  return apiError(Code.ResourceExhausted, "REQUEST_BUDGET_EXHAUSTED", "the server holds as many request bytes as it may; retry later", {
    bytes_in_flight: String(budget.inUse),
  });
}
