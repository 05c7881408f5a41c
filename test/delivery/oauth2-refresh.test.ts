// XOAUTH2 with a refresh token, end to end: the service fetches access tokens from a real local
// token endpoint and the real SMTP sink checks each token it receives against that endpoint.
// One token request serves concurrent attempts; a 535 to a token is answered by one refresh and a
// retry inside the same attempt; an endpoint that is down or refuses the refresh token makes the
// attempt fail as AUTH (transient) with a clear last_error; no secret reaches a log or a row.
import { afterAll, beforeAll, expect, test, vi } from "vitest";
import { OutboxStatus } from "../../gen/email/v1/outbox_pb.js";
import { emailClient, type EmailClient } from "../helpers/clients.js";
import { sinkAccount, startTestApp, type TestApp } from "../helpers/app.js";
import { startSmtpSink, type SmtpSink } from "../helpers/smtp-sink.js";
import { startTokenEndpoint, type TokenEndpoint } from "../helpers/token-endpoint.js";
import { sql } from "../api/attachments/helpers.js";
import { scrape, total } from "../ops/scrape.js";
import { rowOf } from "./harness.js";

const SECRET = "cs-Client-Secret-pelican";
const REFRESH = "rt-Refresh-Token-otter";
const USER = "mailer@contoso.test";

/** Per account: how its sink judges tokens (given the endpoint and what the sink has seen). */
type Judge = (ep: TokenEndpoint, token: string, seen: string[]) => boolean;
const ACCOUNTS: Record<number, { judge: Judge; maxConnections?: number; echo?: boolean; lifetimeS?: number }> = {
  1: { judge: (ep, token) => ep.valid(token) },
  2: { judge: (ep, token) => ep.valid(token), maxConnections: 4 },
  // The first token is refused as if revoked server-side although the endpoint still vouches for it.
  3: { judge: (ep, token, seen) => ep.valid(token) && token !== seen[0] },
  4: { judge: (ep, token) => ep.valid(token) },
  5: { judge: (ep, token) => ep.valid(token) },
  // Refuses every token and echoes it in the 535 (a hostile server).
  6: { judge: () => false, echo: true },
  // Tokens that live 60 s: never reused, as each has no more than the 60 s margin left.
  7: { judge: (ep, token) => ep.valid(token), lifetimeS: 60 },
};

const endpoints = new Map<number, TokenEndpoint>();
const sinks = new Map<number, SmtpSink>();
const seen = new Map<number, string[]>();
let t: TestApp;
let client: EmailClient;

beforeAll(async () => {
  const env: NodeJS.ProcessEnv = { OAUTH_SECRET: SECRET, OAUTH_REFRESH: REFRESH };
  for (const [key, mode] of Object.entries(ACCOUNTS)) {
    const id = Number(key);
    const ep = await startTokenEndpoint({ clientSecret: SECRET, refreshToken: REFRESH, lifetimeS: mode.lifetimeS });
    const tokens: string[] = [];
    const acceptToken = (token: string) => (tokens.push(token), mode.judge(ep, token, tokens));
    const authFailureText = mode.echo ? (a: { accessToken?: string }) => `5.7.3 token ${a.accessToken} is not accepted` : undefined;
    endpoints.set(id, ep);
    seen.set(id, tokens);
    sinks.set(id, await startSmtpSink({ auth: { user: USER, acceptToken }, authFailureText }));
  }
  t = await startTestApp({
    label: "oauth2_refresh",
    env,
    json: {
      message_id_domain: "mail.test",
      accounts: [...sinks].map(([id, sink]) =>
        sinkAccount(id, sink.port, {
          user: USER,
          max_connections: ACCOUNTS[id]!.maxConnections ?? 1,
          auth: {
            oauth2: {
              token_url: endpoints.get(id)!.url,
              client_id: "outbox-client",
              client_secret_env: "OAUTH_SECRET",
              refresh_token_env: "OAUTH_REFRESH",
              scope: "https://outlook.office.com/SMTP.Send",
            },
          },
        }),
      ),
    },
  });
  client = emailClient(t.url);
});
afterAll(async () => {
  await t?.close();
  await Promise.all([...sinks.values(), ...endpoints.values()].map((s) => s.close()));
});

const send = (accountId: number, subject = `to ${accountId}`) =>
  client.send({ accountId, to: ["bob@example.com"], subject, bodyText: "b", waitForAttempt: true }).then((r) => r.outbox!);

/** Nothing secret in any log line, row or reply: the client's secrets and every token issued. */
async function expectNoSecrets(...ids: bigint[]) {
  const secrets = [SECRET, REFRESH, ...[...endpoints.values()].flatMap((ep) => ep.issued)];
  const rows = await Promise.all(ids.map((id) => rowOf(t.app.pool, id)));
  const text = JSON.stringify(t.logs) + JSON.stringify(rows);
  for (const secret of secrets) expect(text).not.toContain(secret);
}

test("fetches a token when it first needs one, sends with it and reuses it", async () => {
  const ep = endpoints.get(1)!;
  const first = await send(1);
  expect(first.status).toBe(OutboxStatus.SENT);
  expect(ep.calls).toBe(1);
  const form = ep.requests[0]!;
  expect(Object.fromEntries(form)).toEqual({
    grant_type: "refresh_token",
    refresh_token: REFRESH,
    client_id: "outbox-client",
    client_secret: SECRET,
    scope: "https://outlook.office.com/SMTP.Send",
  });
  expect(seen.get(1)).toEqual([ep.issued[0]]);
  expect(sinks.get(1)!.authLog).toEqual([{ method: "XOAUTH2", user: USER }]);
  expect((await send(1)).status).toBe(OutboxStatus.SENT);
  expect(ep.calls).toBe(1);
  expect(t.logs.some((l) => l.account_id === 1 && l.msg === "oauth2 access token fetched" && l.expires_in_s === 3600)).toBe(true);
  await expectNoSecrets(first.outboxId);
});

test("concurrent attempts on several connections cause one token request", async () => {
  const ep = endpoints.get(2)!;
  const sink = sinks.get(2)!;
  ep.hold();
  const sends = Promise.all([1, 2, 3, 4].map((n) => send(2, `parallel ${n}`)));
  // All four attempts are under way and one token request waits: the others wait on the same one.
  const sending = async () =>
    (await sql<{ n: number }[]>(t.db.url, "SELECT COUNT(*) AS n FROM outbox WHERE account_id = 2 AND status = 'sending'"))[0]!.n;
  await vi.waitFor(async () => expect([await sending(), ep.waiting]).toEqual([4, 1]), { timeout: 20_000, interval: 20 });
  ep.release();
  const rows = await sends;
  expect(rows.map((r) => r.status)).toEqual([OutboxStatus.SENT, OutboxStatus.SENT, OutboxStatus.SENT, OutboxStatus.SENT]);
  expect(ep.calls).toBe(1);
  expect(new Set(seen.get(2))).toEqual(new Set([ep.issued[0]]));
  expect(sink.authLog.length).toBeGreaterThanOrEqual(1);
  expect(sink.messages).toHaveLength(4);
});

test("a 535 to a token: one refresh and a retry in the same attempt, which is sent", async () => {
  const ep = endpoints.get(3)!;
  const row = await send(3);
  expect(row).toMatchObject({ status: OutboxStatus.SENT, retries: 0 });
  expect(ep.calls).toBe(2);
  expect(seen.get(3)).toEqual([ep.issued[0], ep.issued[1]]);
  expect(sinks.get(3)!.messages).toHaveLength(1);
  await expectNoSecrets(row.outboxId);
});

test("invalid_grant: a transient AUTH failure with a clear last_error; sending resumes once the endpoint gives tokens", async () => {
  const ep = endpoints.get(4)!;
  ep.mode = "invalid_grant";
  ep.refusalText = `refresh token ${REFRESH} has been revoked`; // an endpoint echoing the secret
  const row = await send(4);
  expect(row).toMatchObject({ status: OutboxStatus.FAILED, retries: 1, lastErrorClass: "AUTH" });
  expect(row.lastError).toMatch(
    /^OAuth2 token endpoint http:\/\/127\.0\.0\.1:\d+\/oauth2\/token refused the refresh: invalid_grant: refresh token \[redacted\] has been revoked \(the refresh token was refused: it expired or was revoked; renew it\)$/,
  );
  expect(sinks.get(4)!.messages).toHaveLength(0);
  expect(t.logs.some((l) => l.account_id === 4 && l.msg === "oauth2 token refresh failed")).toBe(true);

  ep.mode = "ok";
  expect((await send(4)).status).toBe(OutboxStatus.SENT);
  await expectNoSecrets(row.outboxId);

  // An operator sees the token requests and when the current token expires in the metrics.
  const m = await scrape(t.url);
  const requests = "email_outbox_oauth_token_requests_total";
  expect([total(m, requests, { account_id: "4", outcome: "failed" }), total(m, requests, { account_id: "4", outcome: "ok" })]).toEqual([
    1, 1,
  ]);
  expect(total(m, "email_outbox_oauth_token_expiry_timestamp_seconds", { account_id: "4" })).toBeGreaterThan(Date.now() / 1000 + 3000);
});

test("a token endpoint that is down: a transient AUTH failure, and the service carries on", async () => {
  const ep = endpoints.get(5)!;
  ep.mode = "down";
  const row = await send(5);
  expect(row).toMatchObject({ status: OutboxStatus.FAILED, retries: 1, lastErrorClass: "AUTH" });
  expect(row.lastError).toMatch(/refused the refresh: temporarily_unavailable$/);
  expect((await send(1)).status).toBe(OutboxStatus.SENT); // the service is fine
});

test("a server that refuses every token: one refresh, then the attempt fails as AUTH without the token in it", async () => {
  const ep = endpoints.get(6)!;
  const row = await send(6);
  expect(row).toMatchObject({ status: OutboxStatus.FAILED, retries: 1, lastErrorClass: "AUTH" });
  expect(row.lastError).toMatch(/535 .*token \[redacted\] is not accepted/);
  expect(ep.calls).toBe(2);
  expect(seen.get(6)).toEqual([ep.issued[0], ep.issued[1]]);
  await expectNoSecrets(row.outboxId);
});

test("a token with 60 s or less left is not used: the next attempt fetches a new one", async () => {
  const ep = endpoints.get(7)!;
  expect((await send(7)).status).toBe(OutboxStatus.SENT);
  expect((await send(7)).status).toBe(OutboxStatus.SENT);
  expect(ep.calls).toBe(2);
  expect(seen.get(7)!.length).toBeGreaterThanOrEqual(1);
  expect(seen.get(7)!.every((token) => ep.issued.includes(token))).toBe(true);
});
