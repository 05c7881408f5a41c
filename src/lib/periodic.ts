// The start/stop shape of a background role: run a task at start and then every interval, never
// two runs at once; stop() waits for the run under way. With a gate, the scheduled runs happen
// only while it is open (maintenance runs on the one instance that holds the fleet lock);
// runOnce() called directly always runs.
export class Periodic<T> {
  private timer?: NodeJS.Timeout;
  private running?: Promise<T>;
  private stopped_ = false;

  constructor(
    private readonly intervalMs: number,
    private readonly task: () => Promise<T>,
    private gate: () => boolean = () => true,
  ) {}

  /** Scheduled runs happen only while `gate()` is true. */
  gateWith(gate: () => boolean): void {
    this.gate = gate;
  }

  start(): void {
    const tick = () => {
      if (this.gate()) void this.runOnce();
    };
    this.timer = setInterval(tick, this.intervalMs);
    tick();
  }

  /** Runs the task now, or joins the run under way. */
  runOnce(): Promise<T> {
    this.running ??= this.task().finally(() => (this.running = undefined));
    return this.running;
  }

  /** True once stop() was called: a long run should end at its next step. */
  get stopped(): boolean {
    return this.stopped_;
  }

  async stop(): Promise<void> {
    this.stopped_ = true;
    clearInterval(this.timer);
    await this.running;
  }
}
