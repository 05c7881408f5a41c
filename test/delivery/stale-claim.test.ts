// A claim that waited in its account's lane (all connections busy) until its lease expired is not
// attempted: the rescuer has handed the row to a new claim, which alone delivers it.
import { afterAll, beforeAll, expect, test, vi } from "vitest";
import { emailClient } from "../helpers/clients.js";
import { ManualClock } from "../helpers/clock.js";
import { startStalledApp, waitForRow, type StalledApp } from "./harness.js";

const T0 = 1_700_000_000_000;
const LEASE_MS = 60_000;
const clock = new ManualClock(T0);
let s: StalledApp;

beforeAll(async () => {
  s = await startStalledApp("stale_claim", clock, LEASE_MS, undefined, { max_connections: 1 });
});
afterAll(() => s?.close());

test("the stale claim of a row that waited past its lease is dropped, and the row is sent once", async () => {
  const client = emailClient(s.t.url);
  const a = Number((await client.send({ accountId: 1, to: ["a@example.com"], subject: "a", bodyText: "a" })).outbox!.outboxId);
  await s.firstArrived.opened;
  const b = Number((await client.send({ accountId: 1, to: ["b@example.com"], subject: "b", bodyText: "b" })).outbox!.outboxId);
  // b is claimed and waits for the only connection, which a holds
  await vi.waitFor(() => expect(s.t.app.sender.heldCount).toBe(2), { timeout: 20_000 });

  clock.advance(LEASE_MS);
  // Both leases expired: rescued and claimed again (the new claims queue behind the stale ones).
  await vi.waitFor(
    async () => {
      await s.t.app.rescuer.runOnce();
      expect(s.t.app.sender.heldCount).toBe(4);
    },
    { timeout: 20_000, interval: 50 },
  );

  s.releaseFirst.open();
  await waitForRow(s.t.app.pool, a, { status: "sent", retries: 0 });
  await waitForRow(s.t.app.pool, b, { status: "sent", retries: 0 });
  await vi.waitFor(() => expect(s.t.app.sender.heldCount).toBe(0), { timeout: 20_000 });

  const idA = `<outbox-${a}-0@mail.test>`;
  const idB = `<outbox-${b}-0@mail.test>`;
  // a: the stalled attempt and the re-send; b: only the new claim's attempt
  expect(s.attempts.filter((m) => m === idA)).toHaveLength(2);
  expect(s.attempts.filter((m) => m === idB)).toHaveLength(1);
  expect(s.sink.messages.map((m) => m.messageId).sort()).toEqual([idA, idB].sort());
  expect(s.t.logs.some((l) => l.outbox_id === b && String(l.msg).includes("lease expired before the attempt"))).toBe(true);
});
