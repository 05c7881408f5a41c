// outbox_request end to end: an application with only INSERT and SELECT on the table writes
// requests inside its own transactions (the TypeScript helper, on mysql2), and the real service
// turns the committed ones into outbox rows that a real SMTP sink receives, refuses bad ones with
// Send's own reasons and messages, shares idempotency keys with Send, and never sees a rollback.
import { ConnectError } from "@connectrpc/connect";
import mysql from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, test, vi } from "vitest";
import { enqueueInTransaction, errorReason, FailureMode, type SendRequest } from "../../../src/index.js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { SendRequestSchema } from "../../../gen/email/v1/email_service_pb.js";
import { CLAIM_REQUESTS_SQL, PENDING_REQUEST_SQL } from "../../../src/outbox/requests.js";
import { CompiledTemplates } from "../../../src/templates/compiled.js";
import { RequestIntake } from "../../../src/api/outbox-request/intake.js";
import { systemClock } from "../../../src/db/clock.js";
import { createLogger } from "../../../src/lib/log.js";
import { Metrics } from "../../../src/metrics/metrics.js";
import { sinkAccount, startTestApp, type TestApp } from "../../helpers/app.js";
import { emailClient, type EmailClient } from "../../helpers/clients.js";
import { createAppUser, RequestReader, type AppUser } from "../../helpers/outbox-request.js";
import { startSmtpSink, type SmtpSink } from "../../helpers/smtp-sink.js";

const DOMAIN = "requests.test";
type Init = MessageInitShape<typeof SendRequestSchema>;

let sink: SmtpSink;
let t: TestApp;
let appUser: AppUser;
let appPool: mysql.Pool;
let root: mysql.Pool;
let reader: RequestReader;
let client: EmailClient;

beforeAll(async () => {
  sink = await startSmtpSink();
  t = await startTestApp({
    label: "outbox_request",
    json: { accounts: [sinkAccount(1, sink.port), sinkAccount(2, sink.port)], message_id_domain: DOMAIN },
  });
  appUser = await createAppUser(t.db);
  appPool = mysql.createPool({ uri: appUser.url, connectionLimit: 4 });
  root = mysql.createPool({ uri: t.db.url, connectionLimit: 2, supportBigNumbers: true, bigNumberStrings: false });
  reader = new RequestReader(appPool);
  client = emailClient(t.url);
});
afterAll(async () => {
  await appPool?.end();
  await root?.end();
  await appUser?.drop();
  await t?.close();
  await sink?.close();
});

/** The application's own transaction on its own connection: fn's requests, then COMMIT (or ROLLBACK). */
async function inAppTransaction<T>(fn: (conn: mysql.PoolConnection) => Promise<T>, end: "commit" | "rollback" = "commit"): Promise<T> {
  const conn = await appPool.getConnection();
  try {
    await conn.beginTransaction();
    const result = await fn(conn);
    await (end === "commit" ? conn.commit() : conn.rollback());
    return result;
  } finally {
    conn.release();
  }
}

const enqueue = (req: Init | SendRequest) => inAppTransaction((conn) => enqueueInTransaction(conn, req));

async function outboxCount(where = "1", args: unknown[] = []): Promise<number> {
  const [rows] = await root.query(`SELECT COUNT(*) AS n FROM outbox WHERE ${where}`, args);
  return Number((rows as { n: number }[])[0]!.n);
}

function received(messageId: string) {
  return vi.waitFor(
    () => {
      const m = sink.messages.find((x) => x.messageId === messageId);
      if (!m) throw new Error(`the sink has no ${messageId} yet`);
      return m;
    },
    { timeout: 20_000, interval: 20 },
  );
}

/** What Send answers for `req`: its ErrorInfo reason and message. */
async function sendRefusal(req: Init): Promise<{ reason: string; message: string }> {
  const err = ConnectError.from(
    await client.send(req).then(
      () => new Error("Send accepted it"),
      (e: unknown) => e,
    ),
  );
  return { reason: errorReason(err) ?? "", message: err.rawMessage };
}

test("a committed request becomes one outbox row, sent through SMTP; the request's row names it", async () => {
  const conn = await appPool.getConnection();
  let id: number;
  try {
    await conn.beginTransaction();
    id = await enqueueInTransaction(conn, {
      accountId: 1,
      to: ["Bob <bob@example.com>"],
      subject: "from the table",
      bodyText: "hello",
      tags: { flow: "table" },
    });
    // Until the application commits, nobody else sees it: not the service, not another connection.
    expect(await reader.rows([id])).toEqual([]);
    await conn.commit();
  } finally {
    conn.release();
  }
  const [answer] = await reader.answered([id]);
  expect(answer).toMatchObject({ account_id: 1, error_reason: null, error_message: null, processed: 1 });
  const outboxId = answer!.outbox_id!;
  const { outbox } = await client.getOutbox({ outboxId: BigInt(outboxId) });
  expect(outbox).toMatchObject({
    accountId: 1,
    subject: "from the table",
    to: [expect.stringMatching(/^"?Bob"? <bob@example\.com>$/)],
    tags: { flow: "table" },
  });
  const mail = await received(`<outbox-${outboxId}-0@${DOMAIN}>`);
  expect(mail.parsed.subject).toBe("from the table");
  expect(mail.parsed.text?.trim()).toBe("hello");
  expect(await outboxCount("subject = ?", ["from the table"])).toBe(1);
});

test("a rolled-back request never exists: no request row, no outbox row, nothing sent", async () => {
  const rolledBack = await inAppTransaction(
    (conn) => enqueueInTransaction(conn, { accountId: 1, to: ["bob@example.com"], subject: "rolled back", bodyText: "x" }),
    "rollback",
  );
  // A request committed after it is taken and sent: the intake has looked since.
  const marker = await enqueue({ accountId: 1, to: ["bob@example.com"], subject: "after the rollback", bodyText: "x" });
  expect(marker).toBeGreaterThan(rolledBack);
  const [answer] = await reader.answered([marker]);
  await received(`<outbox-${answer!.outbox_id}-0@${DOMAIN}>`);
  expect(await reader.rows([rolledBack])).toEqual([]);
  expect(await outboxCount("subject = ?", ["rolled back"])).toBe(0);
  expect(sink.messages.filter((m) => m.parsed.subject === "rolled back")).toEqual([]);
});

describe("refused requests get the reason and message Send answers, and no row", () => {
  const cases: [string, Init][] = [
    ["a bad address", { accountId: 1, to: ["not an address"], subject: "bad address", bodyText: "y" }],
    ["an unknown account", { accountId: 99, to: ["bob@example.com"], subject: "unknown account", bodyText: "y" }],
    ["an empty subject", { accountId: 1, to: ["bob@example.com"], subject: " ", bodyText: "y" }],
    [
      "a failure mode the server does not allow",
      { accountId: 1, to: ["bob@example.com"], subject: "failure mode", bodyText: "y", failureMode: FailureMode.NETWORK },
    ],
    ["a header injection", { accountId: 1, to: ["bob@example.com"], subject: "line\r\nBcc: eve@example.com", bodyText: "y" }],
  ];
  test.each(cases)("%s", async (_, req) => {
    const expected = await sendRefusal(req);
    expect(expected.reason).not.toBe("");
    const before = await outboxCount();
    const id = await enqueue(req);
    const [answer] = await reader.answered([id]);
    expect(answer).toMatchObject({ outbox_id: null, error_reason: expected.reason, error_message: expected.message });
    expect(await outboxCount()).toBe(before);
  });

  test("JSON that is no SendRequest is REQUEST_MALFORMED; invalid JSON never gets in", async () => {
    const [res] = (await appPool.query("INSERT INTO outbox_request (account_id, request) VALUES (1, ?)", [
      JSON.stringify({ accountId: 1, bogus: true }),
    ])) as unknown as [{ insertId: number }];
    const [answer] = await reader.answered([res.insertId]);
    expect(answer).toMatchObject({ outbox_id: null, error_reason: "REQUEST_MALFORMED" });
    expect(answer!.error_message).toMatch(/^the request is not an email\.v1\.SendRequest in proto JSON: .*bogus/);
    await expect(appPool.query("INSERT INTO outbox_request (account_id, request) VALUES (1, '{not json')")).rejects.toThrow(
      /CONSTRAINT|json/i,
    );
  });

  test("a request naming another account than its row is ACCOUNT_NOT_ALLOWED", async () => {
    const json = JSON.stringify({ accountId: 1, to: ["bob@example.com"], subject: "other account", bodyText: "y" });
    const [res] = (await appPool.query("INSERT INTO outbox_request (account_id, request) VALUES (2, ?)", [json])) as unknown as [
      { insertId: number },
    ];
    const [answer] = await reader.answered([res.insertId]);
    expect(answer).toMatchObject({ outbox_id: null, error_reason: "ACCOUNT_NOT_ALLOWED" });
    expect(await outboxCount("subject = ?", ["other account"])).toBe(0);
  });

  test("a request without accountId takes its row's account", async () => {
    const json = JSON.stringify({ to: ["bob@example.com"], subject: "row's account", bodyText: "y" });
    const [res] = (await appPool.query("INSERT INTO outbox_request (account_id, request) VALUES (2, ?)", [json])) as unknown as [
      { insertId: number },
    ];
    const [answer] = await reader.answered([res.insertId]);
    expect((await client.getOutbox({ outboxId: BigInt(answer!.outbox_id!) })).outbox).toMatchObject({
      accountId: 2,
      subject: "row's account",
    });
  });
});

describe("idempotency keys work across both ways in", () => {
  const message = (key: string, subject = "keyed"): Init => ({
    accountId: 1,
    to: ["bob@example.com"],
    subject,
    bodyText: "once",
    idempotencyKey: key,
  });

  test("a request repeating a Send's key and payload gets the Send's row", async () => {
    const sent = await client.send(message("rpc-first"));
    const [answer] = await reader.answered([await enqueue(message("rpc-first"))]);
    expect(answer).toMatchObject({ outbox_id: Number(sent.outbox!.outboxId), error_reason: null });
    expect(await outboxCount("idempotency_key = ?", ["rpc-first"])).toBe(1);
  });

  test("a Send repeating a request's key and payload is a replay of the request's row", async () => {
    const [answer] = await reader.answered([await enqueue(message("table-first"))]);
    const sent = await client.send(message("table-first"));
    expect(sent.idempotentReplay).toBe(true);
    expect(Number(sent.outbox!.outboxId)).toBe(answer!.outbox_id);
  });

  test("the same key with another payload is refused as Send refuses it, either way", async () => {
    await client.send(message("reused"));
    const expected = await sendRefusal(message("reused", "another payload"));
    expect(expected.reason).toBe("IDEMPOTENCY_KEY_REUSED");
    const [answer] = await reader.answered([await enqueue(message("reused", "another payload"))]);
    expect(answer).toMatchObject({ outbox_id: null, error_reason: expected.reason, error_message: expected.message });
  });

  test("requests committed together with one key make one row; another payload under it is refused", async () => {
    const ids = await inAppTransaction(async (conn) => [
      await enqueueInTransaction(conn, message("together")),
      await enqueueInTransaction(conn, message("together")),
      await enqueueInTransaction(conn, message("together", "changed")),
    ]);
    const [a, b, c] = await reader.answered(ids);
    expect(a!.outbox_id).not.toBeNull();
    expect(b).toMatchObject({ outbox_id: a!.outbox_id, error_reason: null });
    expect(c).toMatchObject({ outbox_id: null, error_reason: "IDEMPOTENCY_KEY_REUSED" });
    expect(await outboxCount("idempotency_key = ?", ["together"])).toBe(1);
  });
});

test("the application's user may insert into and read outbox_request, and nothing else", async () => {
  const [grants] = await appPool.query("SHOW GRANTS");
  const lines = (grants as Record<string, string>[]).map((g) => Object.values(g)[0]!);
  expect(lines.filter((l) => !/^GRANT USAGE ON \*\.\*/.test(l))).toEqual([
    `GRANT SELECT, INSERT ON \`${t.db.name}\`.\`outbox_request\` TO \`${appUser.user}\`@\`%\``,
  ]);
  const id = await enqueue({ accountId: 1, to: ["bob@example.com"], subject: "granted", bodyText: "x" });
  await reader.answered([id]);
  const denied = /denied/i;
  await expect(appPool.query("UPDATE outbox_request SET error_reason = 'X' WHERE id = ?", [id])).rejects.toThrow(denied);
  await expect(appPool.query("DELETE FROM outbox_request WHERE id = ?", [id])).rejects.toThrow(denied);
  await expect(appPool.query("SELECT id FROM outbox LIMIT 1")).rejects.toThrow(denied);
  await expect(appPool.query("INSERT INTO outbox_event (outbox_id) VALUES (1)")).rejects.toThrow(denied);
  await expect(appPool.query("SELECT name FROM fleet_lease")).rejects.toThrow(denied);
});

test("the idle read and the claim are served by the pending index, with no filesort", async () => {
  for (const sql of [PENDING_REQUEST_SQL, CLAIM_REQUESTS_SQL.replace("?", "100")]) {
    const [plan] = (await root.query(`EXPLAIN ${sql}`)) as unknown as [{ key: string | null; Extra: string | null }[]];
    expect(plan).toHaveLength(1);
    expect(plan[0]!.key).toBe("idx_outbox_request_pending");
    expect(plan[0]!.Extra ?? "").not.toMatch(/filesort|temporary/i);
  }
  const [idle] = (await root.query(`EXPLAIN ${PENDING_REQUEST_SQL}`)) as unknown as [{ Extra: string | null }[]];
  expect(idle[0]!.Extra).toMatch(/Using index/);
});

test("a flood of requests is taken in bounded batches at the service's pace, each exactly once", async () => {
  const n = 3_000;
  const tomorrow = new Date(Date.now() + 86_400_000).toISOString();
  const rows = Array.from({ length: n }, (_, i) => [
    1,
    JSON.stringify({
      accountId: 1,
      to: [`r${i}@example.com`],
      subject: `flood ${i}`,
      bodyText: "x",
      sendAt: tomorrow,
      metadata: { n: String(i) },
    }),
  ]);
  const ids: number[] = [];
  // Three statements of a thousand rows: what one hostile writer could commit at once.
  for (let i = 0; i < n; i += 1_000) {
    const [res] = (await appPool.query("INSERT INTO outbox_request (account_id, request) VALUES ?", [
      rows.slice(i, i + 1_000),
    ])) as unknown as [{ insertId: number }];
    for (let k = 0; k < 1_000; k++) ids.push(res.insertId + k);
  }
  const answers = await reader.answered(ids, 60_000);
  expect(answers.filter((a) => a.outbox_id === null)).toEqual([]);
  expect(new Set(answers.map((a) => a.outbox_id)).size).toBe(n);
  const [made] = await root.query(
    "SELECT JSON_VALUE(metadata_json, '$.n') AS n, COUNT(*) AS c FROM outbox WHERE subject LIKE 'flood %' GROUP BY n HAVING c <> 1",
  );
  expect(made).toEqual([]);
  expect(await outboxCount("subject LIKE 'flood %'")).toBe(n);
  const batches = t.logs.filter((l) => l.msg === "outbox requests claimed").map((l) => Number(l.requests));
  expect(batches.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(n);
  expect(Math.max(...batches)).toBe(t.app.requests.limits.batch);
});

test("metrics: the lag of a pending request, then accepted and refused counts", async () => {
  const scrape = async (name: string, labels = "") => {
    const text = await t.app.metrics.registry.metrics();
    const line = text.split("\n").find((l) => l.startsWith(`${name}${labels} `));
    return line === undefined ? undefined : Number(line.split(" ")[1]);
  };
  const accepted = (await scrape("email_outbox_requests_accepted_total")) ?? 0;
  const refused = (await scrape("email_outbox_requests_refused_total", '{reason="ADDRESS_INVALID"}')) ?? 0;
  await t.app.requests.stop();
  try {
    await enqueue({ accountId: 1, to: ["bob@example.com"], subject: "waits", bodyText: "x" });
    await enqueue({ accountId: 1, to: ["nobody"], subject: "refused", bodyText: "x" });
    await vi.waitFor(async () => expect(await scrape("email_outbox_request_lag_seconds")).toBeGreaterThan(0.05), {
      timeout: 5_000,
      interval: 20,
    });
  } finally {
    await t.app.requests.start();
  }
  await vi.waitFor(
    async () => {
      expect(await scrape("email_outbox_request_lag_seconds")).toBe(0);
      expect(await scrape("email_outbox_requests_accepted_total")).toBe(accepted + 1);
      expect(await scrape("email_outbox_requests_refused_total", '{reason="ADDRESS_INVALID"}')).toBe(refused + 1);
    },
    { timeout: 10_000, interval: 20 },
  );
});

test("a request over the size limit is refused unread, and the requests after it go through", async () => {
  await t.app.requests.stop();
  const small = new RequestIntake({
    pool: t.app.pool,
    clock: systemClock,
    log: createLogger("silent"),
    config: () => t.app.config,
    metrics: new Metrics(),
    templates: new CompiledTemplates(t.app.pool),
    onCommit: () => undefined,
    limits: { maxRequestBytes: 2_000, batchBytes: 4_000 },
  });
  try {
    const ids = await inAppTransaction(async (conn) => [
      await enqueueInTransaction(conn, { accountId: 1, to: ["bob@example.com"], subject: "too large", bodyText: "x".repeat(2_000) }),
      await enqueueInTransaction(conn, { accountId: 1, to: ["bob@example.com"], subject: "small after it", bodyText: "x" }),
    ]);
    expect(await small.drain()).toBe(2);
    const [large, after] = await reader.rows(ids);
    expect(large).toMatchObject({
      processed: 1,
      outbox_id: null,
      error_reason: "REQUEST_TOO_LARGE",
      error_message: "a request is at most 2000 bytes of JSON",
    });
    expect(after).toMatchObject({ processed: 1, error_reason: null });
    expect(await outboxCount("subject = ?", ["too large"])).toBe(0);
  } finally {
    await t.app.requests.start();
  }
});

test("a request that fails alone for a reason not its own is refused INTERNAL; the others of its batch go through", async () => {
  // A trigger makes the database refuse one message's INSERT, as a fault that is no check's could.
  await root.query(
    "CREATE TRIGGER poison BEFORE INSERT ON outbox FOR EACH ROW BEGIN IF NEW.subject = 'poison' THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'poisoned row'; END IF; END",
  );
  try {
    const ids = await inAppTransaction(async (conn) => {
      const out: number[] = [];
      for (const subject of ["before poison", "poison", "after poison"])
        out.push(await enqueueInTransaction(conn, { accountId: 1, to: ["bob@example.com"], subject, bodyText: "x" }));
      return out;
    });
    const [before, poison, after] = await reader.answered(ids);
    expect(poison).toMatchObject({ outbox_id: null, error_reason: "INTERNAL", error_message: "internal error" });
    expect(before!.outbox_id).not.toBeNull();
    expect(after!.outbox_id).not.toBeNull();
    expect(t.logs.some((l) => l.msg === "internal error" && l.method === "outbox_request")).toBe(true);
  } finally {
    await root.query("DROP TRIGGER IF EXISTS poison");
  }
});
