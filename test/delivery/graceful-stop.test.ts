// Graceful stop with more claims than connections: attempts under way finish and are recorded,
// claims that never started go back to PENDING without spending an attempt, nothing stays SENDING.
import { afterAll, beforeAll, expect, test, vi } from "vitest";
import { createPool, type Pool } from "../../src/db/pool.js";
import { readEventsAfter } from "../../src/outbox/events.js";
import { EventKind, type OutboxRow } from "../../src/outbox/types.js";
import { emailClient } from "../helpers/clients.js";
import { createTestDatabase, type TestDatabase } from "../helpers/db.js";
import { sinkAccount, startTestApp, type TestApp } from "../helpers/app.js";
import { startSmtpSink, type SmtpSink } from "../helpers/smtp-sink.js";
import { Gate, rowOf } from "./harness.js";

const CONNECTIONS = 2;
const ROWS = 6;
const release = new Gate();
let inData = 0;
let db: TestDatabase;
let sink: SmtpSink;
let t: TestApp;
/** Outlives the app's pool, to look at the rows after stop. */
let pool: Pool;

beforeAll(async () => {
  db = await createTestDatabase("graceful_stop");
  sink = await startSmtpSink({
    script: async (stage) => {
      if (stage !== "data") return undefined;
      inData++;
      await release.opened;
      return undefined;
    },
  });
  t = await startTestApp({
    db,
    json: {
      accounts: [sinkAccount(1, sink.port, { max_connections: CONNECTIONS })],
      sender: { poll_interval_ms: 600_000 },
    },
  });
  pool = createPool(db.url, 2);
});
afterAll(async () => {
  release.open();
  await t?.app.stop();
  await pool?.end();
  await sink?.close();
  await db?.drop();
});

test("stop lets in-flight attempts finish and hands back the unstarted claims", async () => {
  const client = emailClient(t.url);
  const ids: number[] = [];
  for (let i = 0; i < ROWS; i++) {
    ids.push(Number((await client.send({ accountId: 1, to: ["bob@example.com"], subject: `m${i}`, bodyText: "b" })).outbox!.outboxId));
  }
  // Every row is claimed; only CONNECTIONS of them are being sent (held inside DATA).
  await vi.waitFor(
    () => {
      expect(t.app.sender.heldCount).toBe(ROWS);
      expect(inData).toBe(CONNECTIONS);
    },
    { timeout: 20_000 },
  );
  const rowsNow = () => Promise.all(ids.map((id) => rowOf(pool, id)));
  expect((await rowsNow()).every((r) => r.status === "sending")).toBe(true);

  let stopped = false;
  const stopping = t.app.stop().then(() => (stopped = true));
  // The unstarted claims are handed back while the two attempts are still held.
  await vi.waitFor(
    async () => {
      expect((await rowsNow()).filter((r) => r.status === "pending")).toHaveLength(ROWS - CONNECTIONS);
    },
    { timeout: 20_000 },
  );
  expect(stopped).toBe(false);
  expect(inData).toBe(CONNECTIONS);

  release.open();
  await stopping;

  const rows = await rowsNow();
  const by = (s: OutboxRow["status"]) => rows.filter((r) => r.status === s);
  expect(by("sending")).toEqual([]);
  expect(by("sent")).toHaveLength(CONNECTIONS);
  expect(by("pending")).toHaveLength(ROWS - CONNECTIONS);
  expect(by("pending").every((r) => r.retries === 0 && r.lastError === null)).toBe(true);
  expect(sink.messages.map((m) => m.messageId).sort()).toEqual(
    by("sent")
      .map((r) => r.messageId)
      .sort(),
  );

  const released = (await readEventsAfter(pool, 0, 1000)).filter((e) => e.kind === EventKind.released);
  expect(released.map((e) => e.outboxId).sort()).toEqual(
    by("pending")
      .map((r) => r.id)
      .sort(),
  );
  expect(released.every((e) => e.status === "pending" && e.retries === 0)).toBe(true);
  expect(t.logs.some((l) => l.msg === "handed back unstarted claims" && l.released === ROWS - CONNECTIONS)).toBe(true);
});
