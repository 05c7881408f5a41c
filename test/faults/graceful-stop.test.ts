// Graceful stop during a busy run: SIGTERM lets attempts under way finish, hands back claims not
// yet started without spending an attempt, and exits 0 within sender.shutdown_timeout_ms; an
// attempt that outlasts that timeout is left to its lease; a second signal exits at once.
import { setTimeout as delay } from "node:timers/promises";
import { afterEach, expect, test } from "vitest";
import { sinkAccount } from "../helpers/app.js";
import { emailClient } from "../helpers/clients.js";
import type { ServiceProcess } from "../helpers/service-process.js";
import {
  byOutboxId,
  DOMAIN,
  enqueueOffline,
  gate,
  holdingServer,
  KIND,
  notIn,
  openRig,
  outboxIdOf,
  sendMany,
  sentLogIds,
  serviceConfig,
  until,
  type Rig,
} from "./kit.js";

let rig: Rig | undefined;
const opened: (() => void)[] = [];
afterEach(async () => {
  for (const open of opened.splice(0)) open();
  await rig?.close();
  rig = undefined;
});

/** Resolves with the exit code, or fails if the process is still running after timeoutMs. */
async function exitWithin(child: ServiceProcess, timeoutMs: number): Promise<number | string> {
  return until(
    () => {
      expect(child.child.exitCode ?? child.child.signalCode, "still running").not.toBeNull();
      return child.exited;
    },
    timeoutMs,
    50,
  );
}

test("SIGTERM mid-run: attempts under way finish, unstarted claims go back unspent, exit 0 within the timeout", async () => {
  const SHUTDOWN_MS = 15_000;
  const server = holdingServer(() => delay(300));
  rig = await openRig("fault_stop", { script: server.script });
  const { db, sink, reader } = rig;
  const config = serviceConfig([sinkAccount(1, sink.port, { max_connections: 4 })], {
    batch_size: 32,
    max_in_flight: 64,
    lease_ms: 60_000,
    shutdown_timeout_ms: SHUTDOWN_MS,
  });
  const ids = await enqueueOffline(db, config, 200);
  const child = await rig.start(config);
  await until(
    () => {
      expect(sentLogIds(child).length).toBeGreaterThanOrEqual(8);
      expect(server.held.size).toBeGreaterThan(0);
    },
    60_000,
    20,
  );
  const inFlight = new Set(server.held);
  child.kill("SIGTERM");
  expect(await exitWithin(child, SHUTDOWN_MS)).toBe(0);

  // The attempts under way at the signal were delivered and written as sent.
  const delivered = byOutboxId(sink.messages);
  for (const id of inFlight) {
    expect(delivered.has(id), `outbox ${id}`).toBe(true);
    expect((await reader.row(id)).status).toBe("sent");
  }
  // Nothing is left SENDING; everything delivered is written as sent, so a restart repeats nothing.
  const rows = await reader.rows();
  expect(rows.filter((r) => r.status === "sending")).toEqual([]);
  expect(rows.filter((r) => r.status === "sent").map((r) => r.id)).toEqual([...delivered.keys()].sort((a, b) => a - b));
  expect(rows.filter((r) => r.status === "pending")).toHaveLength(ids.length - delivered.size);

  // Claims never started went back as RELEASED, with no attempt spent and nothing delivered.
  const released = (await reader.events([KIND.released])).map((e) => e.outbox_id);
  const releasedLog = child.logs.find((l) => l.msg === "handed back unstarted claims");
  expect(released.length).toBeGreaterThan(0);
  expect(releasedLog?.released).toBe(released.length);
  for (const id of released) {
    expect(await reader.row(id)).toMatchObject({ status: "pending", retries: 0 });
    expect(delivered.has(id)).toBe(false);
  }
  expect(rows.every((r) => r.retries === 0)).toBe(true);
  console.log(`graceful stop: ${inFlight.size} in flight finished, ${released.length} unstarted claims released, ${delivered.size} sent`);
});

test("an attempt that outlasts shutdown_timeout_ms: exit 0 on time, the next instance rescues and re-sends it with the same Message-ID", async () => {
  const SHUTDOWN_MS = 2_000;
  const LEASE_MS = 4_000;
  const stuck = gate();
  const server = holdingServer(() => stuck.opened);
  opened.push(stuck.open);
  rig = await openRig("fault_stop_timeout", { script: server.script });
  const { sink, reader } = rig;
  const config = serviceConfig([sinkAccount(1, sink.port, { max_connections: 2, socket_timeout_ms: 120_000 })], {
    lease_ms: LEASE_MS,
    shutdown_timeout_ms: SHUTDOWN_MS,
  });
  const first = await rig.start(config);
  const ids = await sendMany(emailClient(first.url), 6, 6);
  await until(() => expect(server.held.size).toBe(2), 30_000, 20);
  const stuckIds = [...server.held];
  first.kill("SIGTERM");
  // The timeout bounds the wait for attempts; stopping the rest of the service takes a moment more.
  expect(await exitWithin(first, SHUTDOWN_MS + 5_000)).toBe(0);
  expect(first.logs.some((l) => l.msg === "stop timed out; leases will be rescued")).toBe(true);
  for (const id of stuckIds) expect((await reader.row(id)).status).toBe("sending");

  // The server now accepts the stuck messages (their sender is gone); the next instance re-sends them.
  stuck.open();
  await rig.start(config);
  // Compared row by row, so a failure shows each row's last error.
  await until(async () => expect(notIn(await reader.rows(), "sent")).toEqual([]), 60_000, 200);
  const delivered = byOutboxId(sink.messages);
  for (const id of ids) {
    const copies = delivered.get(id)!.map((m) => m.messageId);
    expect(copies, `outbox ${id}`).toEqual(
      stuckIds.includes(id) ? [`<outbox-${id}-0@${DOMAIN}>`, `<outbox-${id}-0@${DOMAIN}>`] : [`<outbox-${id}-0@${DOMAIN}>`],
    );
  }
  const rescued = (await reader.events([KIND.leaseRescued])).map((e) => e.outbox_id);
  expect(rescued.sort()).toEqual([...stuckIds].sort());
  expect(sink.messages.map(outboxIdOf)).toHaveLength(ids.length + stuckIds.length);
});

test("a second signal exits at once, long before shutdown_timeout_ms", async () => {
  const SHUTDOWN_MS = 60_000;
  const stuck = gate();
  const server = holdingServer(() => stuck.opened);
  opened.push(stuck.open);
  rig = await openRig("fault_stop_force", { script: server.script });
  const { sink } = rig;
  const config = serviceConfig([sinkAccount(1, sink.port, { max_connections: 1, socket_timeout_ms: 120_000 })], {
    lease_ms: 60_000,
    shutdown_timeout_ms: SHUTDOWN_MS,
  });
  const child = await rig.start(config);
  await sendMany(emailClient(child.url), 2, 2);
  await until(() => expect(server.held.size).toBe(1), 30_000, 20);
  child.kill("SIGTERM");
  await until(() => expect(child.logs.some((l) => l.msg === "stopping")).toBe(true), 10_000, 20);
  child.kill("SIGTERM");
  expect(await exitWithin(child, 10_000)).toBe(1);
  expect(child.logs.some((l) => l.msg === "second signal: exiting now")).toBe(true);
});
