// A background task run every interval and whenever woken, never two runs at once: wake-ups that
// come while it runs merge into one more run right after it. The task handles its own errors.
export class Poller {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private again = false;
  private started = false;
  private stopped_ = false;

  constructor(private readonly task: () => Promise<void>) {}

  /** Runs the task every `intervalMs` from now on, and on wake(). */
  start(intervalMs: number): void {
    this.started = true;
    this.timer = setInterval(() => this.wake(), intervalMs);
  }

  /** Runs the task now, or once more after the run under way; not before start() nor after stop(). */
  wake(): void {
    if (!this.started || this.stopped_) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.task().finally(() => {
      this.running = undefined;
      if (this.again) {
        this.again = false;
        this.wake();
      }
    });
  }

  /** True once stop() was called: a long run should end at its next step. */
  get stopped(): boolean {
    return this.stopped_;
  }

  /** No more runs; resolves when the one under way has ended. */
  async stop(): Promise<void> {
    this.stopped_ = true;
    clearInterval(this.timer);
    await this.running;
  }
}
