// parseConfig: the reference's error messages naming the account, TLS defaults by port,
// secrets from the environment, and the dev account when no accounts are configured.
import path from "node:path";
import { describe, expect, test } from "vitest";
import { parseConfig } from "../../src/config/config.js";
import { configErrorOf } from "./config-error.js";

const BASE = "/srv/outbox";
const ENV = { DATABASE_URL: "mysql://root@127.0.0.1:3306/x", PORT: "0" };

function account(smtp: Record<string, unknown>, id = 7) {
  return { id, from: "Ops <ops@example.com>", smtp: { host: "smtp.example.com", user: "ops@example.com", ...smtp } };
}

const parse = (json: Record<string, unknown>, env: NodeJS.ProcessEnv = ENV) => parseConfig(json, env, BASE);

/** The ConfigError parse throws (fails if it does not throw one). */
function configError(json: Record<string, unknown>, env: NodeJS.ProcessEnv = ENV): string {
  return configErrorOf(() => parse(json, env));
}

describe("smtp host", () => {
  test.each([
    ["missing", undefined],
    ["empty", ""],
    ["blank", "   "],
  ])("%s → `smtp host is required`, naming the account", (_, host) => {
    expect(configError({ accounts: [account({ host, auth: { password: "pw" } })] })).toBe("account 7: smtp host is required");
  });

  test("is trimmed", () => {
    expect(parse({ accounts: [account({ host: " smtp.example.com " })] }).accounts.get(7)!.relays[0]!.smtp!.host).toBe("smtp.example.com");
  });
});

describe("smtp.auth must set exactly one of password/oauth_token/oauth2", () => {
  const EXACTLY_ONE = "account 7: smtp.auth must set exactly one of password/oauth_token/oauth2";
  test.each([
    ["both set", { password: "pw", oauth_token: "tok" }],
    ["neither set", {}],
    ["password and password_env", { password: "pw", password_env: "SMTP_PW" }],
    ["password_env and oauth_token", { password_env: "SMTP_PW", oauth_token: "tok" }],
  ])("%s → refused, naming the account", (_, auth) => {
    expect(configError({ accounts: [account({ auth })] }, { ...ENV, SMTP_PW: "from-env" })).toBe(EXACTLY_ONE);
  });

  test("the message names the right account among several", () => {
    const json = { accounts: [account({ auth: { password: "pw" } }, 1), account({ auth: {} }, 2)] };
    expect(configError(json)).toBe("account 2: smtp.auth must set exactly one of password/oauth_token/oauth2");
  });

  test("a password or an oauth_token alone is accepted", () => {
    const accounts = parse({ accounts: [account({ auth: { password: "pw" } }, 1), account({ auth: { oauth_token: "tok" } }, 2)] }).accounts;
    expect(accounts.get(1)!.relays[0]!.smtp!.auth).toEqual({ kind: "password", user: "ops@example.com", password: "pw" });
    expect(accounts.get(2)!.relays[0]!.smtp!.auth).toEqual({ kind: "oauth2", user: "ops@example.com", accessToken: "tok" });
  });
});

describe("tls", () => {
  test.each([
    [465, "implicit"],
    [587, "starttls"],
    [25, "starttls"],
    [2525, "starttls"],
  ])("port %i without tls defaults to %s", (port, tls) => {
    expect(parse({ accounts: [account({ port })] }).accounts.get(7)!.relays[0]!.smtp!.tls).toBe(tls);
  });

  test("no port means 587 and STARTTLS", () => {
    expect(parse({ accounts: [account({})] }).accounts.get(7)!.relays[0]!.smtp).toMatchObject({ port: 587, tls: "starttls" });
  });

  test.each(["implicit", "starttls", "none"])("an explicit tls %s overrides the port", (tls) => {
    expect(parse({ accounts: [account({ port: 465, tls })] }).accounts.get(7)!.relays[0]!.smtp!.tls).toBe(tls);
  });

  test("an unknown tls mode is refused", () => {
    expect(configError({ accounts: [account({ tls: "ssl" })] })).toBe("account 7: smtp tls must be implicit, starttls or none");
  });
});

describe("secrets from the environment", () => {
  test("password_env and oauth_token_env are read from the environment", () => {
    const env = { ...ENV, SMTP_PW: "pw-from-env", SMTP_TOKEN: "token-from-env" };
    const accounts = parse(
      { accounts: [account({ auth: { password_env: "SMTP_PW" } }, 1), account({ auth: { oauth_token_env: "SMTP_TOKEN" } }, 2)] },
      env,
    ).accounts;
    expect(accounts.get(1)!.relays[0]!.smtp!.auth).toMatchObject({ kind: "password", password: "pw-from-env" });
    expect(accounts.get(2)!.relays[0]!.smtp!.auth).toMatchObject({ kind: "oauth2", accessToken: "token-from-env" });
  });

  test.each([
    ["unset", undefined],
    ["empty", ""],
  ])("a variable that is %s is an error naming the account and the variable", (_, value) => {
    const message = configError({ accounts: [account({ auth: { password_env: "SMTP_PW" } })] }, { ...ENV, SMTP_PW: value });
    expect(message).toBe("account 7: environment variable SMTP_PW (smtp.auth.password_env) is not set");
  });

  test("no error message carries the secret", () => {
    const message = configError({ accounts: [account({ auth: { password: "hunter2-secret", oauth_token: "tok-secret" } })] });
    expect(message).not.toMatch(/hunter2|tok-secret/);
  });
});

describe("no accounts key", () => {
  test("runs with one dev account (id 1) writing .eml files to a folder under the base dir", () => {
    const config = parse({});
    expect([...config.accounts.keys()]).toEqual([1]);
    const dev = config.accounts.get(1)!;
    expect(dev.relays).toEqual([{ name: "default", fileDir: path.join(BASE, "mail-out") }]);
  });

  test("an explicit empty list means no accounts, not the dev account", () => {
    expect(parse({ accounts: [] }).accounts.size).toBe(0);
  });
});

test("the environment's defaults: database, host and port", () => {
  const config = parseConfig({}, {}, BASE);
  expect(config).toMatchObject({ databaseUrl: "mysql://root@127.0.0.1:3306/email_outbox", host: "127.0.0.1", port: 8080 });
});

test("the config is frozen", () => {
  const config = parse({ accounts: [account({})] });
  expect(Object.isFrozen(config)).toBe(true);
  expect(Object.isFrozen(config.accounts.get(7))).toBe(true);
  expect(Object.isFrozen(config.accounts.get(7)!.relays[0]!.smtp)).toBe(true);
});

describe("server and metrics settings", () => {
  test("defaults: a 256 MiB request budget, 10 s to the first bytes, 100 streams, /metrics on the API port", () => {
    const c = parse({});
    expect(c.server).toEqual({
      requestBytesInFlight: 256 * 1024 * 1024,
      firstBytesTimeoutMs: 10_000,
      idleTimeoutMs: 300_000,
      maxConcurrentStreams: 100,
    });
    expect([c.watch.maxStreams, c.watch.maxStreamsPerKey]).toEqual([1000, 100]);
    expect(c.metrics).toEqual({ tagLabels: [] });
  });

  test("metrics.tag_labels lists the tag names counted by", () => {
    expect(parse({ metrics: { tag_labels: ["campaign", "tier", "campaign"] } }).metrics.tagLabels).toEqual(["campaign", "tier"]);
  });

  test.each([
    ["IPv4", "127.0.0.1:9464", { host: "127.0.0.1", port: 9464 }],
    ["IPv6 in brackets", "[::1]:9464", { host: "::1", port: 9464 }],
    ["a host name", "metrics.internal:9090", { host: "metrics.internal", port: 9090 }],
  ])("metrics.listen %s", (_, listen, expected) => {
    expect(parse({ metrics: { listen } }).metrics.listen).toEqual(expected);
  });

  test.each([
    [{ metrics: { listen: "9464" } }, "metrics.listen must be host:port, e.g. 127.0.0.1:9464"],
    [{ metrics: { listen: "127.0.0.1:70000" } }, "metrics.listen must be host:port, e.g. 127.0.0.1:9464"],
    [{ metrics: { port: 1 } }, "metrics.port: unknown setting"],
    [{ metrics: { tag_labels: ["bad name"] } }, "metrics.tag_labels must be a list of at most 10 tag names"],
    [{ metrics: { tag_labels: "campaign" } }, "metrics.tag_labels must be a list of at most 10 tag names"],
    [{ server: { request_bytes_in_flight: 0 } }, "server: request_bytes_in_flight must be a positive integer"],
    [{ server: { max_streams: 5 } }, "server.max_streams: unknown setting"],
  ])("%j is refused", (json, message) => {
    expect(() => parse(json)).toThrow(message);
  });
});

describe("allowed_from", () => {
  test("exact addresses and *@domain patterns, normalised to lower case and ASCII domains", () => {
    const c = parse({ accounts: [{ ...account({}), allowed_from: ["News@Example.COM", "*@Brand.Example", "*@bücher.example"] }] });
    expect(c.accounts.get(7)!.allowedFrom).toEqual(["news@example.com", "*@brand.example", "*@xn--bcher-kva.example"]);
  });

  test.each([
    [["not an address"], 'account 7: allowed_from: "not an address" is not an address or "*@domain"'],
    [["News <news@example.com>"], 'account 7: allowed_from: "News <news@example.com>" is not an address or "*@domain"'],
    [["*@"], 'account 7: allowed_from: "*@" is not an address or "*@domain"'],
    ["news@example.com", 'account 7: allowed_from must be a list of addresses or "*@domain" patterns'],
  ])("%j is refused", (allowed, message) => {
    expect(configError({ accounts: [{ ...account({}), allowed_from: allowed }] })).toContain(message);
  });

  test("with allowed_from, from must be one address: it stays the envelope sender", () => {
    expect(configError({ accounts: [{ ...account({}), from: "a@x.example, b@x.example", allowed_from: ["*@x.example"] }] })).toBe(
      "account 7: with allowed_from, from must be one address (the envelope sender)",
    );
  });
});
