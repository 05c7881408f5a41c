// The loop that writes a queue in batches, one batch at a time: what is submitted while a batch
// is being written goes in the next one. The queue, and how a batch is taken from it, stay with
// the user.
export class Drain {
  private running?: Promise<void>;

  /**
   * `step` writes one batch; it runs again while `pending()` says work is left. With `sameTick`
   * (the default) the first batch waits for the rest of the tick, so that work submitted together
   * (a SendBatch's messages, say) shares it.
   */
  constructor(
    private readonly pending: () => boolean,
    private readonly step: () => Promise<void>,
    private readonly opts: { sameTick: boolean } = { sameTick: true },
  ) {}

  /** Starts the loop, unless it runs already (it then takes the new work too). */
  kick(): void {
    this.running ??= this.run().finally(() => {
      this.running = undefined;
      // Submitted after the loop saw an empty queue but before it ended: start again.
      if (this.pending()) this.kick();
    });
  }

  /** Resolves when everything submitted so far is written. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async run(): Promise<void> {
    if (this.opts.sameTick) await new Promise((r) => setImmediate(r));
    while (this.pending()) await this.step();
  }
}
