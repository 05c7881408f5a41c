// The order of an app's parts (src/services.ts): started in order, stopped in reverse, on a normal
// stop and when a later part fails to start; a part that fails to stop does not keep the others up.
import { expect, test } from "vitest";
import { createLogger } from "../../src/lib/log.js";
import { startInOrder, type Service } from "../../src/app/services.js";

const log = createLogger("silent");

/** Parts that write down what happens to them; `fail` names one that fails to start or to stop. */
function parts(names: string[], fail?: { name: string; at: "start" | "stop" }) {
  const calls: string[] = [];
  const services: Service[] = names.map((name) => ({
    name,
    async start() {
      if (fail?.name === name && fail.at === "start") throw new Error(`${name} cannot start`);
      calls.push(`start ${name}`);
    },
    async stop() {
      calls.push(`stop ${name}`);
      if (fail?.name === name && fail.at === "stop") throw new Error(`${name} cannot stop`);
    },
  }));
  return { calls, services };
}

test("started in order and stopped in reverse", async () => {
  const { calls, services } = parts(["db", "listener", "sender"]);
  const stop = await startInOrder(services, log);
  await stop();
  expect(calls).toEqual(["start db", "start listener", "start sender", "stop sender", "stop listener", "stop db"]);
});

test("a part that fails to start: exactly the ones started before it stop, in reverse, and its error is thrown", async () => {
  const { calls, services } = parts(["db", "clock", "listener", "sender", "imap"], { name: "sender", at: "start" });
  await expect(startInOrder(services, log)).rejects.toThrow("sender cannot start");
  expect(calls).toEqual(["start db", "start clock", "start listener", "stop listener", "stop clock", "stop db"]);
});

test("a part that fails to stop: the rest still stop, and the failure is thrown at the end", async () => {
  const { calls, services } = parts(["db", "listener", "sender"], { name: "listener", at: "stop" });
  const stop = await startInOrder(services, log);
  await expect(stop()).rejects.toThrow("listener cannot stop");
  expect(calls.slice(3)).toEqual(["stop sender", "stop listener", "stop db"]);
});
