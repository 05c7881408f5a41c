// The parts of the app as one ordered list: each starts after the ones before it and stops before
// them, on a normal stop and when a later part fails to start alike, so nothing is left running
// on a pool that has been closed.
import type { Logger } from "../lib/log.js";

export interface Service {
  /** For log lines. */
  readonly name: string;
  /** Resolves once running; a start that rejects leaves nothing of this part running. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** A part whose own start() and stop() (either may be synchronous) are the service's. */
export function service(name: string, part: { start(): unknown; stop(): unknown }): Service {
  return {
    name,
    start: async () => void (await part.start()),
    stop: async () => void (await part.stop()),
  };
}

/**
 * Starts `services` in order and returns the stop of them all. If one fails to start, those
 * already started are stopped in reverse order and its error is thrown.
 */
export async function startInOrder(services: readonly Service[], log: Logger): Promise<() => Promise<void>> {
  const started: Service[] = [];
  for (const s of services) {
    try {
      await s.start();
    } catch (err) {
      log.warn({ service: s.name, err: (err as Error).message }, "start failed: stopping the parts already started");
      await stopInReverse(started, log).catch(() => undefined);
      throw err;
    }
    started.push(s);
  }
  return () => stopInReverse(started, log);
}

/** Every part is stopped, even after one fails to; the first failure is thrown at the end. */
async function stopInReverse(started: readonly Service[], log: Logger): Promise<void> {
  let failure: unknown;
  for (const s of [...started].reverse()) {
    try {
      await s.stop();
    } catch (err) {
      log.error({ service: s.name, err: (err as Error).message }, "stop failed");
      failure ??= err;
    }
  }
  if (failure !== undefined) throw failure;
}
