// Health follows the database and the server's life: grpc.health.v1 (for "" and for each service
// by name) and GET /readyz flip to NOT_SERVING / 503 when the database is cut (through a TCP
// proxy) and back when it returns, and while the server stops; GET /healthz stays 200 throughout.
import { afterAll, beforeAll, expect, test, vi } from "vitest";
import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../../gen/grpc/health/v1/health_pb.js";
import { TcpProxy } from "../faults/tcp-proxy.js";
import { sinkAccount, startTestApp, type TestApp } from "../helpers/app.js";
import { emailClient } from "../helpers/clients.js";
import { createTestDatabase, type TestDatabase } from "../helpers/db.js";
import { startSmtpSink, type SmtpSink } from "../helpers/smtp-sink.js";
import { Gate } from "../delivery/harness.js";
import { scrape, total } from "./scrape.js";

let db: TestDatabase;
let proxy: TcpProxy;
let t: TestApp;
let health: Client<typeof Health>;

beforeAll(async () => {
  db = await createTestDatabase("ops_health");
  const target = new URL(db.url);
  proxy = await TcpProxy.start(target.hostname, Number(target.port || 3306));
  const viaProxy = new URL(db.url);
  viaProxy.port = String(proxy.port);
  t = await startTestApp({ db: { ...db, url: viaProxy.toString() }, background: false });
  health = createClient(Health, createGrpcTransport({ baseUrl: t.url }));
});
afterAll(async () => {
  await t?.close();
  await proxy?.close();
  await db?.drop();
});

const status = async (service = "") => (await health.check({ service })).status;
// The whole server and each of its services by name, as probes configured per service ask.
const SERVICES = [
  "",
  "email.v1.EmailService",
  "email.v1.MailboxService",
  "email.v1.AccountService",
  "email.v1.WebhookService",
  "email.v1.TemplateService",
];
const statuses = () => Promise.all(SERVICES.map(status));
const httpStatus = async (path: string) => (await fetch(`${t.url}${path}`)).status;
const waitFor = <T>(check: () => Promise<T>) => vi.waitFor(check, { timeout: 20_000, interval: 100 });

test("a database cut makes health NOT_SERVING and /readyz 503 until the database is back", async () => {
  expect(await statuses()).toEqual(SERVICES.map(() => Status.SERVING));
  expect(await httpStatus("/readyz")).toBe(200);
  const watcher = health.watch({ service: "" })[Symbol.asyncIterator]();
  expect((await watcher.next()).value?.status).toBe(Status.SERVING);

  await proxy.cut();
  await waitFor(async () => expect(await statuses()).toEqual(SERVICES.map(() => Status.NOT_SERVING)));
  expect((await watcher.next()).value?.status).toBe(Status.NOT_SERVING);
  expect(await httpStatus("/readyz")).toBe(503);
  expect(await httpStatus("/healthz")).toBe(200);
  expect(total(await scrape(t.url), "email_outbox_database_up")).toBe(0);
  expect(t.logs.some((l) => l.msg === "database unreachable; health NOT_SERVING" && typeof l.reason === "string")).toBe(true);

  await proxy.restore();
  await waitFor(async () => expect(await statuses()).toEqual(SERVICES.map(() => Status.SERVING)));
  expect((await watcher.next()).value?.status).toBe(Status.SERVING);
  await waitFor(async () => expect(await httpStatus("/readyz")).toBe(200));
  expect(total(await scrape(t.url), "email_outbox_database_up")).toBe(1);
  await watcher.return?.();
});

test("a stopping server is NOT_SERVING and not ready while its last attempt finishes", async () => {
  const arrived = new Gate();
  const release = new Gate();
  let sink: SmtpSink | undefined;
  let app: TestApp | undefined;
  try {
    sink = await startSmtpSink({
      script: async (stage) => {
        if (stage !== "data") return undefined;
        arrived.open();
        await release.opened;
        return undefined;
      },
    });
    app = await startTestApp({ label: "ops_stopping", json: { accounts: [sinkAccount(1, sink.port)] } });
    const client = createClient(Health, createGrpcTransport({ baseUrl: app.url }));
    await emailClient(app.url).send({ accountId: 1, to: ["rcpt@example.com"], subject: "s", bodyText: "b" });
    await arrived.opened;

    const stopped = app.app.stop();
    for (const service of SERVICES) expect((await client.check({ service })).status).toBe(Status.NOT_SERVING);
    const ready = await fetch(`${app.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ status: "stopping" });
    expect((await fetch(`${app.url}/healthz`)).status).toBe(200);
    release.open();
    await stopped;
    expect(sink.messages).toHaveLength(1);
  } finally {
    release.open();
    await app?.close();
    await sink?.close();
  }
});
