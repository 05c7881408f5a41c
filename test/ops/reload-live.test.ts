// app.reload in-process: CORS origins and API keys are read per request, so a reload applies to
// the next request on connections that are already open.
import { afterAll, beforeAll, expect, test } from "vitest";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { EmailService } from "../../gen/email/v1/email_service_pb.js";
import { parseConfig } from "../../src/config/config.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { testKey, withAuthorization } from "../security/keys.js";

const ORIGIN = "https://app.example.com";
let t: TestApp;

beforeAll(async () => {
  t = await startTestApp({ label: "ops_reload_live", background: false });
});
afterAll(() => t?.close());

const reloadWith = (json: Record<string, unknown>) =>
  t.app.reload(parseConfig(json, { DATABASE_URL: t.db.url, PORT: "0", HOST: "127.0.0.1" }, process.cwd()));

async function preflight(): Promise<string | null> {
  const res = await fetch(`${t.url}/email.v1.EmailService/Send`, {
    method: "OPTIONS",
    headers: { origin: ORIGIN, "access-control-request-method": "POST", "access-control-request-headers": "content-type" },
  });
  return res.headers.get("access-control-allow-origin");
}

test("a reload adds a CORS origin and an API key requirement for the next request", async () => {
  const key = testKey("ops", "*");
  const client = (authorization?: string) =>
    createClient(
      EmailService,
      createConnectTransport({ baseUrl: t.url, httpVersion: "1.1", interceptors: [withAuthorization(authorization)] }),
    );
  const get = (authorization?: string) =>
    client(authorization)
      .getOutbox({ outboxId: 1n })
      .then(
        () => 0,
        (e: unknown) => ConnectError.from(e).code as number,
      );

  expect(await preflight()).toBeNull();
  expect(await get()).toBe(Code.NotFound);

  expect(reloadWith({ cors: { allowed_origins: [ORIGIN] }, api_keys: [key.entry] })).toEqual([]);
  expect(await preflight()).toBe(ORIGIN);
  expect(await get()).toBe(Code.Unauthenticated);
  expect(await get(`Bearer ${key.key}`)).toBe(Code.NotFound);

  reloadWith({});
  expect(await preflight()).toBeNull();
  expect(await get()).toBe(Code.NotFound);
});
