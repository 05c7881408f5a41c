// Load shapes: a closed loop (a fixed number of calls in flight) and an open loop at a fixed rate.
import { setTimeout as sleep } from "node:timers/promises";
import { nowMs } from "./mail.js";

/** Runs task(0..total-1) with at most `inFlight` running at once; rejects on the first failure. */
export async function closedLoop(total: number, inFlight: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < total) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, total) }, worker));
}

/** Starts task(i) at start + i / rate seconds (not waiting for earlier ones), then waits for all. */
export async function paced(total: number, perSecond: number, task: (i: number) => Promise<void>): Promise<void> {
  const start = nowMs();
  const running: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const wait = start + (i * 1000) / perSecond - nowMs();
    if (wait > 0) await sleep(wait);
    running.push(task(i));
  }
  await Promise.all(running);
}
