// enqueueInTransaction in both clients, as applications use it: on the application's own database
// connection (mysql2 in TypeScript, PyMySQL through DB-API in Python), with only the grant the docs
// give. A rolled-back transaction leaves nothing to send; a committed one is sent by the real
// service through a real SMTP server.
import { execFile } from "node:child_process";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { create } from "@bufbuild/protobuf";
import mysql from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, test, vi } from "vitest";
import { enqueueInTransaction, SendRequestSchema } from "../../src/index.js";
import { createAppUser, RequestReader, type AppUser } from "../helpers/outbox-request.js";
import { pythonClientVenv, type PythonVenv } from "./python-venv.js";
import { DOMAIN, startClientFixture, type ClientFixture } from "./fixture.js";

const run = promisify(execFile);

let f: ClientFixture;
let appUser: AppUser;
let reader: RequestReader;
let readerPool: mysql.Pool;

beforeAll(async () => {
  f = await startClientFixture("request_clients");
  appUser = await createAppUser(f.t.db);
  readerPool = mysql.createPool({ uri: appUser.url, connectionLimit: 2 });
  reader = new RequestReader(readerPool);
});
afterAll(async () => {
  await readerPool?.end();
  await appUser?.drop();
  await f?.close();
});

/** The committed request's message, as the SMTP server received it. */
async function sentFor(requestId: number) {
  const [answer] = await reader.answered([requestId]);
  expect(answer).toMatchObject({ error_reason: null });
  const messageId = `<outbox-${answer!.outbox_id}-0@${DOMAIN}>`;
  return vi.waitFor(
    () => {
      const m = f.received(messageId);
      if (!m) throw new Error(`the sink has no ${messageId} yet`);
      return m;
    },
    { timeout: 20_000, interval: 20 },
  );
}

async function outboxRowsWithSubject(subject: string): Promise<number> {
  const [rows] = await f.t.app.pool.query("SELECT COUNT(*) AS n FROM outbox WHERE subject = ?", [subject]);
  return Number((rows as { n: number }[])[0]!.n);
}

describe("TypeScript: enqueueInTransaction(conn, request) on a mysql2 connection", () => {
  test("rolled back: no request; committed: sent", async () => {
    // A connection without a default database names the table with its database.
    const url = new URL(appUser.url);
    url.pathname = "/";
    const conn = await mysql.createConnection({ uri: url.toString() });
    const table = `${f.t.db.name}.outbox_request`;
    try {
      await conn.beginTransaction();
      const rolledBack = await enqueueInTransaction(
        conn,
        { accountId: 1, to: ["bob@example.com"], subject: "ts rolled back", bodyText: "x" },
        { table },
      );
      await conn.rollback();

      await conn.beginTransaction();
      const message = create(SendRequestSchema, {
        accountId: 1,
        to: ["Bob <bob@example.com>"],
        subject: "ts committed",
        bodyText: "from TypeScript",
        metadata: { via: "ts" },
      });
      const committed = await enqueueInTransaction(conn, message, { table });
      await conn.commit();

      const mail = await sentFor(committed);
      expect(mail.parsed.subject).toBe("ts committed");
      expect(mail.parsed.text?.trim()).toBe("from TypeScript");
      expect(await reader.rows([rolledBack])).toEqual([]);
      expect(await outboxRowsWithSubject("ts rolled back")).toBe(0);
    } finally {
      await conn.end();
    }
  });

  test("a request without an account, or a table name that is not one, is refused before anything is written", async () => {
    const conn = await mysql.createConnection({ uri: appUser.url });
    try {
      await expect(enqueueInTransaction(conn, { to: ["bob@example.com"], subject: "s", bodyText: "b" })).rejects.toThrow(/accountId/);
      await expect(enqueueInTransaction(conn, { accountId: 1 }, { table: "outbox_request; DROP TABLE x" })).rejects.toThrow(
        /not a table name/,
      );
    } finally {
      await conn.end();
    }
  });
});

describe("Python: enqueue_in_transaction(conn, request) on a PyMySQL (DB-API) connection", () => {
  let venv: PythonVenv;
  beforeAll(async () => {
    venv = await pythonClientVenv("email-outbox-py-request-", { modules: "pymysql", pkg: "python3-pymysql" });
  }, 180_000);
  afterAll(() => venv?.remove());

  test("rolled back: no request; committed: sent", async () => {
    const url = new URL(appUser.url);
    const script = [
      "import json, sys, pymysql",
      "from email_outbox_client import enqueue_in_transaction",
      "from email_outbox_client.email_v1 import email_service_pb2 as api",
      "host, port, user, password, database = sys.argv[1:6]",
      "conn = pymysql.connect(host=host, port=int(port), user=user, password=password, database=database, autocommit=False)",
      "def request(subject):",
      "    return api.SendRequest(account_id=1, to=['Bob <bob@example.com>'], subject=subject, body_text='from Python', tags={'via': 'python'})",
      "conn.begin()",
      "rolled_back = enqueue_in_transaction(conn, request('py rolled back'))",
      "conn.rollback()",
      "conn.begin()",
      "cursor = conn.cursor()",
      "committed = enqueue_in_transaction(cursor, request('py committed'))",
      "conn.commit()",
      "print(json.dumps({'rolled_back': rolled_back, 'committed': committed}))",
    ].join("\n");
    const { stdout } = await run(
      path.join(venv.dir, "bin", "python"),
      ["-c", script, url.hostname, url.port || "3306", decodeURIComponent(url.username), decodeURIComponent(url.password), f.t.db.name],
      { cwd: tmpdir(), timeout: 60_000 },
    );
    const ids = JSON.parse(stdout) as { rolled_back: number; committed: number };
    const mail = await sentFor(ids.committed);
    expect(mail.parsed.subject).toBe("py committed");
    expect(mail.parsed.text?.trim()).toBe("from Python");
    expect(await reader.rows([ids.rolled_back])).toEqual([]);
    expect(await outboxRowsWithSubject("py rolled back")).toBe(0);
    const [rows] = await f.t.app.pool.query("SELECT tags_json FROM outbox WHERE subject = 'py committed'");
    expect((rows as { tags_json: unknown }[]).map((r) => r.tags_json)).toEqual([{ via: "python" }]);
  });
});
