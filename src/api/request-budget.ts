// One budget for the request bytes held in memory by all requests in flight: a request takes
// what it declares (content-length) or what it reads, and gives it back when its response ends.
// A request that does not fit is refused at once instead of growing the heap.

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
