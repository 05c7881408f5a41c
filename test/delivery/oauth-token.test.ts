// The OAuth2 token source against a real local token endpoint: one request for concurrent
// callers, replacement at least 60 s before expiry (by an injected clock), and failures that are
// clear TokenErrors without a secret in them.
import { afterAll, beforeAll, expect, test } from "vitest";
import { OAuthTokenSource, REFRESH_AHEAD_MS, TokenError } from "../../src/delivery/oauth-token.js";
import { startTokenEndpoint, type TokenEndpoint } from "../helpers/token-endpoint.js";

const SECRET = "cs-Unit-Secret-walrus";
const REFRESH = "rt-Unit-Refresh-marmot";
let ep: TokenEndpoint;

beforeAll(async () => {
  ep = await startTokenEndpoint({ clientSecret: SECRET, refreshToken: REFRESH, lifetimeS: 3600 });
});
afterAll(() => ep.close());

/** The error a promise rejects with (fails the test if it resolves). */
async function failure(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a rejection");
}

const client = () => ({
  tokenUrl: ep.url,
  clientId: "outbox-client",
  clientSecret: SECRET,
  refreshToken: REFRESH,
  scope: "https://outlook.office.com/SMTP.Send offline_access",
});

test("concurrent callers share one request; the token is reused until 60 s before it expires", async () => {
  let now = 1_000_000;
  const source = new OAuthTokenSource(client(), { now: () => now });
  const before = ep.calls;
  const tokens = await Promise.all(Array.from({ length: 10 }, () => source.token()));
  expect(ep.calls - before).toBe(1);
  expect(new Set(tokens)).toEqual(new Set([ep.issued.at(-1)]));
  expect(ep.requests.at(-1)!.get("scope")).toBe("https://outlook.office.com/SMTP.Send offline_access");

  now += 3600_000 - REFRESH_AHEAD_MS - 1; // 60 s and 1 ms left: still used
  expect(await source.token()).toBe(tokens[0]);
  expect(ep.calls - before).toBe(1);
  now += 1; // 60 s left: replaced
  const next = await source.token();
  expect(next).not.toBe(tokens[0]);
  expect(ep.calls - before).toBe(2);
  expect(source.state).toMatchObject({ state: "valid", expiresAt: now + 3600_000 });
});

test("refusal and outage are TokenErrors that say what happened, without a secret; the next call tries again", async () => {
  const source = new OAuthTokenSource(client());
  ep.mode = "invalid_grant";
  ep.refusalText = `refresh token ${REFRESH} was revoked (client secret ${SECRET})`;
  const refused = await failure(source.token());
  expect(refused).toBeInstanceOf(TokenError);
  expect(refused.message).toMatch(
    /^OAuth2 token endpoint http:\/\/127\.0\.0\.1:\d+\/oauth2\/token refused the refresh: invalid_grant: .*renew it\)$/,
  );
  expect(refused.message).not.toContain(REFRESH);
  expect(refused.message).not.toContain(SECRET);
  expect(source.state).toMatchObject({ state: "failing", lastError: refused.message });

  ep.mode = "down";
  expect((await failure(source.token())).message).toMatch(/refused the refresh: temporarily_unavailable$/);
  ep.mode = "ok";
  expect(ep.valid(await source.token())).toBe(true);
  expect(source.state.state).toBe("valid");
});

test("an endpoint that cannot be reached is a TokenError naming the cause", async () => {
  const gone = await startTokenEndpoint({ clientSecret: SECRET, refreshToken: REFRESH });
  const url = gone.url;
  await gone.close();
  const err = await failure(new OAuthTokenSource({ ...client(), tokenUrl: url }).token());
  expect(err).toBeInstanceOf(TokenError);
  expect(err.message).toMatch(/could not be reached \(ECONNREFUSED\)$/);
});

test("a rotated refresh token is used for the next refresh and redacted like the first", async () => {
  const rotating = await startTokenEndpoint({ clientSecret: SECRET, refreshToken: REFRESH, rotate: true });
  try {
    const source = new OAuthTokenSource({ ...client(), tokenUrl: rotating.url });
    await source.token();
    await source.refresh();
    expect(rotating.requests.map((r) => r.get("refresh_token"))).toEqual([REFRESH, `${REFRESH}-1`]);
    rotating.mode = "invalid_grant";
    rotating.refusalText = `${REFRESH}-2 was revoked`;
    expect((await failure(source.refresh())).message).toMatch(/invalid_grant: \[redacted\] was revoked/);
  } finally {
    await rotating.close();
  }
});

test("an endpoint that does not answer in time is a TokenError, and the next call asks again", async () => {
  const source = new OAuthTokenSource(client(), { timeoutMs: 300 });
  ep.hold();
  try {
    expect((await failure(source.token())).message).toMatch(
      /^OAuth2 token endpoint http:\/\/127\.0\.0\.1:\d+\/oauth2\/token did not answer within 0\.3 s$/,
    );
  } finally {
    ep.release();
  }
  expect(ep.valid(await source.token())).toBe(true);
});
