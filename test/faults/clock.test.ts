// Clock: the service decides due times and leases by the database's clock (src/db/clock.ts), so
// instances whose host clocks are off — one ten minutes ahead, one ten minutes behind — still
// agree on what is due and when a lease expires.
import { setTimeout as delay } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from "vitest";
import { DatabaseClock } from "../../src/db/clock.js";
import { createPool, ensureDatabase } from "../../src/db/pool.js";
import { sinkAccount } from "../helpers/app.js";
import { emailClient } from "../helpers/clients.js";
import type { ServiceProcess } from "../helpers/service-process.js";
import { byOutboxId, KIND, openRig, sendMany, sentLogIds, serviceConfig, until, type Rig } from "./kit.js";

const SKEW_MS = 10 * 60_000;
const LEASE_MS = 30_000;
/** Longer than a rescue interval (lease / 4), well inside the lease. */
const HOLD_MS = 10_000;
const SKEWED_CLOCK = fileURLToPath(new URL("./skewed-clock.mjs", import.meta.url));

let rig: Rig;
beforeAll(async () => {
  rig = await openRig("fault_clock", {
    script: async (stage, ctx) => {
      if (stage === "data" && /^Subject: held$/m.test(ctx.raw!.toString("latin1"))) await delay(HOLD_MS); // a slow server
      return undefined;
    },
  });
  await ensureDatabase(rig.db.url);
});
afterAll(async () => {
  await rig?.close();
});

describe("DatabaseClock", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  test("reads the database's time whatever the host clock says, and follows the host clock moving", async () => {
    const { db, reader } = rig;
    const pool = createPool(db.url, 2);
    const hostNow = Date.now.bind(Date);
    let skew = SKEW_MS;
    vi.spyOn(Date, "now").mockImplementation(() => hostNow() + skew);
    const clock = new DatabaseClock(pool);
    try {
      await clock.start();
      expect(Math.abs(clock.now() - (await reader.now()))).toBeLessThan(1_000);
      skew = -SKEW_MS; // the host clock is stepped back twenty minutes
      await clock.sync();
      expect(Math.abs(clock.now() - (await reader.now()))).toBeLessThan(1_000);
    } finally {
      clock.stop();
      await pool.end();
    }
  });
});

describe("two instances, one ten minutes ahead and one ten minutes behind", () => {
  test("agree on what is due, never rescue a live lease, and stamp database time", async () => {
    const { sink, reader } = rig;
    const config = serviceConfig([sinkAccount(1, sink.port)], { lease_ms: LEASE_MS });
    const start = (skewMs: number) =>
      rig.start(config, { env: { NODE_OPTIONS: `--import ${SKEWED_CLOCK}`, EMAIL_OUTBOX_TEST_CLOCK_SKEW_MS: String(skewMs) } });
    const [ahead, behind] = await Promise.all([start(SKEW_MS), start(-SKEW_MS)]);
    // The skew took: each process's own log timestamps are ten minutes off.
    const logSkew = (p: ServiceProcess) => Number(p.logs.at(-1)!.time) - Date.now();
    expect(Math.abs(logSkew(ahead) - SKEW_MS)).toBeLessThan(60_000);
    expect(Math.abs(logSkew(behind) + SKEW_MS)).toBeLessThan(60_000);

    const dbStart = await reader.now();
    const a = emailClient(ahead.url);
    const b = emailClient(behind.url);
    // Due in five minutes by the database: the instance ten minutes ahead must not think it due.
    const scheduled = await b.send({
      accountId: 1,
      to: ["bob@example.com"],
      subject: "later",
      bodyText: "b",
      sendAt: timestampFromMs(dbStart + 5 * 60_000),
    });
    const held = await a.send({ accountId: 1, to: ["bob@example.com"], subject: "held", bodyText: "b" });
    const now = [...(await sendMany(a, 10, 2, "via ahead")), ...(await sendMany(b, 10, 2, "via behind"))];
    const heldId = Number(held.outbox!.outboxId);
    await until(async () => expect(await reader.statusCounts()).toEqual({ pending: 1, sent: now.length + 1 }), 90_000, 200);
    const dbEnd = await reader.now();

    // Both instances claimed rows while the scheduled one waited, and left it alone.
    expect(sentLogIds(ahead).length).toBeGreaterThan(0);
    expect(sentLogIds(behind).length).toBeGreaterThan(0);
    expect(await reader.row(Number(scheduled.outbox!.outboxId))).toMatchObject({ status: "pending" });
    // The held message was attempted once: no instance took its live lease for an expired one.
    expect(byOutboxId(sink.messages).get(heldId)).toHaveLength(1);
    expect(await reader.events([KIND.leaseRescued])).toEqual([]);
    // Every event either instance wrote carries database time.
    for (const e of await reader.events()) {
      expect(e.created_at).toBeGreaterThanOrEqual(dbStart - 1_000);
      expect(e.created_at).toBeLessThanOrEqual(dbEnd + 1_000);
    }
  });
});
