// A lease that expires mid-send: the rescuer hands the row back without counting an attempt, the
// re-send carries the same Message-ID, and the stalled attempt's late finalize loses.
import { afterAll, beforeAll, expect, test, vi } from "vitest";
import { readEventsAfter } from "../../src/outbox/events.js";
import { EventKind } from "../../src/outbox/types.js";
import { emailClient } from "../helpers/clients.js";
import { ManualClock } from "../helpers/clock.js";
import { rowOf, startStalledApp, waitForRow, type StalledApp } from "./harness.js";

const T0 = 1_700_000_000_000;
const LEASE_MS = 60_000;
const clock = new ManualClock(T0);
let s: StalledApp;

beforeAll(async () => {
  s = await startStalledApp("lease_expiry", clock, LEASE_MS, { code: 250, message: "2.0.0 queued as SECOND" });
});
afterAll(() => s?.close());

test("the rescued row is re-sent with the same Message-ID and the stalled attempt's finalize loses", async () => {
  const { outbox } = await emailClient(s.t.url).send({ accountId: 1, to: ["bob@example.com"], subject: "s", bodyText: "b" });
  const id = Number(outbox!.outboxId);
  const messageId = `<outbox-${id}-0@mail.test>`;
  await s.firstArrived.opened;
  expect(await rowOf(s.t.app.pool, id)).toMatchObject({ status: "sending", retries: 0, messageId });

  // Not yet expired: the rescuer leaves it alone.
  clock.advance(LEASE_MS - 1);
  expect(await s.t.app.rescuer.runOnce()).toBe(0);
  expect(await rowOf(s.t.app.pool, id)).toMatchObject({ status: "sending" });

  clock.advance(1);
  // runOnce joins a pass already under way (the rescuer's own timer), which may have read the
  // clock before it moved; so run passes until the rescue is recorded.
  await vi.waitFor(
    async () => {
      await s.t.app.rescuer.runOnce();
      const rescued = (await readEventsAfter(s.t.app.pool, 0, 1000)).filter((e) => e.outboxId === id && e.kind === EventKind.leaseRescued);
      expect(rescued).toMatchObject([{ status: "pending", retries: 0 }]);
    },
    { timeout: 20_000, interval: 50 },
  );

  // The rescuer woke the sender, which claimed the row again: same retry count, same Message-ID.
  const [delivered] = await s.sink.waitFor(1, 20_000);
  expect(delivered!.messageId).toBe(messageId);
  await waitForRow(s.t.app.pool, id, { status: "sent", retries: 0, providerMessageId: "smtp-2.0.0 queued as SECOND", messageId });

  s.releaseFirst.open();
  await vi.waitFor(
    () => {
      expect(s.t.logs.some((l) => l.outbox_id === id && String(l.msg).includes("lease lost before finalize"))).toBe(true);
    },
    { timeout: 20_000 },
  );
  expect(await rowOf(s.t.app.pool, id)).toMatchObject({
    status: "sent",
    retries: 0,
    providerMessageId: "smtp-2.0.0 queued as SECOND",
    lastError: null,
    lastErrorClass: null,
  });
  expect(s.attempts).toEqual([messageId, messageId]);
  expect(s.sink.messages).toHaveLength(1);

  const kinds = (await readEventsAfter(s.t.app.pool, 0, 1000)).filter((e) => e.outboxId === id).map((e) => e.kind);
  expect(kinds).toEqual([EventKind.created, EventKind.sending, EventKind.leaseRescued, EventKind.sending, EventKind.sent]);
  expect(s.t.app.sender.heldCount).toBe(0);
});
