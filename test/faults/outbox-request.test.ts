// outbox_request across instances and a crash: two services take requests from one table while an
// application commits (and sometimes rolls back) them, and the service holding one batch is
// SIGKILLed inside that batch's transaction, then started again. Every committed request still
// becomes exactly one outbox row or one refusal, repeats of an idempotency key find their row,
// nothing rolled back exists, and every row is sent.
import mysql from "mysql2/promise";
import { afterAll, beforeAll, expect, test } from "vitest";
import { enqueueInTransaction } from "../../src/index.js";
import { sinkAccount } from "../helpers/app.js";
import { createAppUser, RequestReader, type AppUser } from "../helpers/outbox-request.js";
import type { ServiceProcess } from "../helpers/service-process.js";
import { openRig, outboxIdOf, serviceConfig, until, type Rig } from "./kit.js";

const REQUESTS = 3_000;
const PER_TRANSACTION = 10;
const WRITERS = 4;
const TRAP_KEY = "trap";

let rig: Rig;
let appUser: AppUser | undefined;
let app: mysql.Pool | undefined;

beforeAll(async () => {
  rig = await openRig("fault_requests");
});
afterAll(async () => {
  await app?.end();
  await appUser?.drop();
  await rig?.close();
});

/** Request n: every 50th has a bad address; every 20th carries a key and is committed twice. */
function request(n: number, key = n % 20 === 0 ? `key-${n}` : "") {
  return {
    accountId: 1,
    to: [n % 50 === 49 ? "not an address" : `r${n}@example.com`],
    subject: `request ${n}`,
    bodyText: `body ${n}`,
    metadata: { n: String(n) },
    idempotencyKey: key,
  };
}

/** The instance whose claim of request `id` is still open (claimed, never answered). */
function holderOf(services: readonly ServiceProcess[], id: number): ServiceProcess | undefined {
  return services.find((p) =>
    p.logs.some(
      (l) =>
        l.msg === "outbox requests claimed" &&
        Number(l.first_id) <= id &&
        id <= Number(l.last_id) &&
        !p.logs.some((a) => a.msg === "outbox requests answered" && a.first_id === l.first_id),
    ),
  );
}

test("two instances, one SIGKILLed inside a batch: each committed request becomes exactly one row or one refusal", async () => {
  const { sink, reader } = rig;
  const config = serviceConfig([sinkAccount(1, sink.port, { max_connections: 4 })], { lease_ms: 3_000 });
  const first = await Promise.all([rig.start(config), rig.start(config)]);
  appUser = await createAppUser(rig.db);
  app = mysql.createPool({ uri: appUser.url, connectionLimit: WRITERS + 1 });

  // The application: WRITERS connections, PER_TRANSACTION requests per transaction, every 7th rolled back.
  const committed: number[] = [];
  const rolledBack: number[] = [];
  const numbers = [...Array.from({ length: REQUESTS }, (_, n) => n), ...Array.from({ length: REQUESTS / 20 }, (_, k) => k * 20)];
  let next = 0;
  let transactions = 0;
  const writer = async () => {
    const conn = await app!.getConnection();
    try {
      while (next < numbers.length) {
        const batch = numbers.slice(next, next + PER_TRANSACTION);
        next += batch.length;
        const rollback = ++transactions % 7 === 0;
        await conn.beginTransaction();
        const ids: number[] = [];
        for (const n of batch) ids.push(await enqueueInTransaction(conn, request(n)));
        await (rollback ? conn.rollback() : conn.commit());
        (rollback ? rolledBack : committed).push(...ids);
      }
    } finally {
      conn.release();
    }
  };
  const writing = Promise.all(Array.from({ length: WRITERS }, writer));
  await until(() => expect(committed.length).toBeGreaterThan(300), 60_000, 10);

  // A trap only the batch holding one request can walk into: an uncommitted outbox row holding that
  // request's idempotency key. The batch's INSERT waits on it, inside the batch's transaction.
  const hold = await mysql.createConnection({ uri: rig.db.url });
  await hold.beginTransaction();
  await hold.query(
    `INSERT INTO outbox (account_id, kind, status, send_at, idempotency_key, from_header, to_json, cc_json, bcc_json, subject, body_text, created_at, updated_at)
     VALUES (1, 'send', 'cancelled', 0, ?, 'trap@example.com', '[]', '[]', '[]', 'trap', 'trap', 0, 0)`,
    [TRAP_KEY],
  );
  const trapped = await commitOne(app, request(REQUESTS, TRAP_KEY));
  committed.push(trapped);
  const victim = await until(
    () => {
      const p = holderOf(first, trapped);
      expect(p, "an instance holding the trapped request").toBeDefined();
      return p!;
    },
    30_000,
    5,
  );
  victim.kill("SIGKILL");
  expect(await victim.exited).toBe("SIGKILL");
  const killedBatch = victim.logs.filter((l) => l.msg === "outbox requests claimed").at(-1)!;
  await hold.rollback();
  await hold.end();
  await rig.start(config);
  await writing;

  const answers = await new RequestReader(app).answered(committed, 120_000);
  expect(await new RequestReader(app).rows(rolledBack)).toEqual([]);

  // One row per request number, however many committed requests carried it (a key's repeat finds its row).
  const [requestRows] = await app.query("SELECT id, JSON_VALUE(request, '$.metadata.n') AS n FROM outbox_request");
  const numberOf = new Map((requestRows as { id: number; n: string }[]).map((r) => [Number(r.id), Number(r.n)]));
  const outboxOf = new Map<number, Set<number>>();
  for (const a of answers) {
    const n = numberOf.get(a.id)!;
    if (n % 50 === 49) {
      expect(a, `request ${a.id} (n ${n})`).toMatchObject({ outbox_id: null, error_reason: "ADDRESS_INVALID" });
      continue;
    }
    expect(a.outbox_id, `request ${a.id} (n ${n})`).not.toBeNull();
    outboxOf.set(n, new Set([...(outboxOf.get(n) ?? []), a.outbox_id!]));
  }
  for (const [n, rows] of outboxOf) expect(rows.size, `request number ${n}`).toBe(1);
  expect(outboxOf.has(REQUESTS)).toBe(true);
  const rowIds = [...outboxOf.values()].map((s) => [...s][0]!).sort((a, b) => a - b);
  expect((await reader.rows()).map((r) => Number(r.id)).sort((a, b) => a - b)).toEqual(rowIds);

  await until(async () => expect(await reader.statusCounts()).toEqual({ sent: rowIds.length }), 120_000, 250);
  expect(new Set(sink.messages.map(outboxIdOf))).toEqual(new Set(rowIds));

  console.log(
    `outbox_request faults: ${committed.length} requests committed (${rolledBack.length} rolled back) in ${transactions + 1} transactions; ` +
      `${rowIds.length} rows; killed inside a batch of ${String(killedBatch.requests)} requests (ids ${String(killedBatch.first_id)}..${String(killedBatch.last_id)})`,
  );
});

/** One request in a transaction of its own; resolves with its id once committed. */
async function commitOne(pool: mysql.Pool, req: ReturnType<typeof request>): Promise<number> {
  const conn = await pool.getConnection();
  try {
    await conn.beginTransaction();
    const id = await enqueueInTransaction(conn, req);
    await conn.commit();
    return id;
  } finally {
    conn.release();
  }
}
