// The completer writes every submitted outcome, including one submitted at the very moment the
// previous batch's writer is finishing.
import { Writable } from "node:stream";
import { afterAll, beforeAll, expect, test } from "vitest";
import { claimDue, type Finalization } from "../../src/outbox/claims.js";
import { createLogger } from "../../src/lib/log.js";
import { Completer } from "../../src/delivery/completer.js";
import type { ClaimedMessage } from "../../src/outbox/types.js";
import { ManualClock } from "../helpers/clock.js";
import { enqueueMany, lease, openOutboxDb, type OutboxDb } from "../outbox/outbox-db.js";
import { rowOf } from "./harness.js";

const NOW = 1_700_000_000_000;
const log = createLogger("silent", new Writable({ write: (_c, _e, cb) => cb() }));
let o: OutboxDb;

beforeAll(async () => {
  o = await openOutboxDb("completer");
});
afterAll(() => o?.close());

function sent(c: ClaimedMessage): Finalization {
  return {
    id: c.id,
    accountId: c.accountId,
    leaseToken: c.leaseToken,
    messageId: c.messageId,
    status: "sent",
    retries: 0,
    nextAttemptAt: null,
    providerMessageId: `smtp-${c.id}`,
    error: null,
    errorClass: null,
  };
}

test("an outcome submitted right after the previous one resolved is written too", async () => {
  await enqueueMany(o.pool, 2, NOW);
  const [a, b] = await claimDue(o.pool, 2, lease("c", NOW), [1]);
  const completer = new Completer(o.pool, new ManualClock(NOW), log, () => undefined);

  expect(await completer.submit(sent(a!))).toBe(true);
  // synchronously after the first resolved: its writer has emptied its queue but not yet ended
  const second = completer.submit(sent(b!));
  await completer.idle();
  expect(await rowOf(o.pool, b!.id)).toMatchObject({ status: "sent", providerMessageId: `smtp-${b!.id}` });
  await expect(second).resolves.toBe(true);
});

test("outcomes submitted together are written in one batch, each resolving true", async () => {
  const ids = await enqueueMany(o.pool, 5, NOW);
  const claims = await claimDue(o.pool, 5, lease("c", NOW), [1]);
  let commits = 0;
  const completer = new Completer(o.pool, new ManualClock(NOW), log, () => commits++);
  expect(await Promise.all(claims.map((c) => completer.submit(sent(c))))).toEqual([true, true, true, true, true]);
  expect(commits).toBe(1);
  for (const id of ids) expect(await rowOf(o.pool, id)).toMatchObject({ status: "sent" });
});
