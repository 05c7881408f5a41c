// accounts[].webhooks[]: defaults, secrets from the environment (never echoed), the URL rules,
// filters, and unknown keys refused by their full path.
import { inspect } from "node:util";
import { expect, test } from "vitest";
import { ConfigError, parseConfig } from "../../../src/config/config.js";

const SECRET = `whsec_${Buffer.alloc(24, 7).toString("base64")}`;
const ENV = {
  DATABASE_URL: "mysql://root@127.0.0.1:3306/x",
  PORT: "0",
  S1: SECRET,
  S2: `${SECRET} whsec_${Buffer.alloc(32, 1).toString("base64")}`,
};

function withHook(hook: Record<string, unknown>, env: NodeJS.ProcessEnv = ENV) {
  const account = {
    id: 3,
    from: "A <a@example.com>",
    file_dir: "out",
    webhooks: [{ id: "h", url: "https://hooks.example.com/x", secret_env: "S1", ...hook }],
  };
  return parseConfig({ accounts: [account] }, env, "/srv").accounts.get(3)!.webhooks;
}

function refusal(hook: Record<string, unknown>, env?: NodeJS.ProcessEnv): string {
  try {
    withHook(hook, env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error("expected a ConfigError");
}

test("defaults: enabled, every event and status, 10 s timeout, 24 h max age, https only", () => {
  const [hook] = withHook({});
  expect(hook).toMatchObject({
    id: "h",
    enabled: true,
    events: undefined,
    statuses: undefined,
    timeoutMs: 10_000,
    maxAgeMs: 86_400_000,
    allowHttp: false,
  });
  expect(hook!.secrets.count).toBe(1);
  // The secret never prints, whether logged as JSON or inspected.
  expect(JSON.stringify(hook)).not.toContain(SECRET.slice(6));
  expect(inspect(hook)).not.toContain(SECRET.slice(6));
});

test("a rotation: space-separated secrets, or a list of variables, sign with every one", () => {
  expect(withHook({ secret_env: "S2" })[0]!.secrets.count).toBe(2);
  expect(withHook({ secret_env: ["S1", "S2"] })[0]!.secrets.count).toBe(3);
});

test.each([
  [{ secret_env: "NOPE" }, "account 3: webhooks[0] (h): environment variable NOPE (secret_env) is not set"],
  [
    { secret_env: "S1" },
    "account 3: webhooks[0] (h): environment variable S1 must hold whsec_ secrets: whsec_ and 16 to 128 bytes in base64",
    { S1: "whsec_c2hvcnQ=" },
  ],
  [
    { secret_env: "S1" },
    "account 3: webhooks[0] (h): environment variable S1 must hold whsec_ secrets: whsec_ and 16 to 128 bytes in base64",
    { S1: "hunter2-not-a-whsec" },
  ],
  [
    { url: "http://hooks.example.com/x" },
    "account 3: webhooks[0] (h): url must be https:// (http:// is for loopback hosts, or set allow_http: true)",
  ],
  [{ url: "ftp://x/" }, "account 3: webhooks[0] (h): url must be http:// or https://"],
  [{ url: "https://u:p@x.example/" }, "account 3: webhooks[0] (h): url must not contain credentials"],
  [
    { events: ["sent", "bounced"] },
    "account 3: webhooks[0] (h): events must be a non-empty list of created, scheduled, sending, sent, failed, dead, cancelled, lease_rescued, retried, released, suppressed, recipient_bounced, recipient_delayed, recipient_complained, expired, relay_failed",
  ],
  [
    { statuses: [] },
    "account 3: webhooks[0] (h): statuses must be a non-empty list of pending, sending, sent, failed, dead, cancelled, suppressed, expired",
  ],
  [
    { tags: { "bad tag": "x" } },
    "account 3: webhooks[0] (h): tags must be an object of 1 to 10 name: value tags (letters, digits, '_' or '-')",
  ],
  [{ timeout_ms: 0 }, "account 3: webhooks[0] (h): timeout_ms must be a positive integer of at most 2147483647"],
  [{ id: "a b" }, "account 3: webhooks[0]: id must be 1-64 letters, digits, '.', '_' or '-'"],
  [{ timout_ms: 5 }, "account 3: webhooks[0].timout_ms: unknown setting (did you mean timeout_ms?)"],
])("%j → %s", (hook, message, env?: Record<string, string>) => {
  const text = refusal(hook, env ? { ...ENV, ...env } : ENV);
  expect(text).toBe(message);
  if (env?.S1) expect(text).not.toContain(env.S1);
});

test("http:// to a loopback host is allowed, and to any host with allow_http", () => {
  expect(withHook({ url: "http://127.0.0.1:9/x" })[0]!.url.href).toBe("http://127.0.0.1:9/x");
  expect(withHook({ url: "http://localhost/x" })).toHaveLength(1);
  expect(withHook({ url: "http://hooks.example.com/x", allow_http: true })[0]!.allowHttp).toBe(true);
});

test("filters and ids", () => {
  const [hook] = withHook({
    events: ["sent", "dead", "recipient_bounced"],
    statuses: ["sent"],
    tags: { campaign: "spring" },
    enabled: false,
  });
  expect([...hook!.events!]).toEqual(["sent", "dead", "recipient_bounced"]);
  expect(hook!.tags).toEqual({ campaign: "spring" });
  expect(hook!.enabled).toBe(false);
  expect(() =>
    parseConfig(
      {
        accounts: [
          {
            id: 3,
            from: "A <a@example.com>",
            file_dir: "o",
            webhooks: [
              { id: "h", url: "https://a.example/", secret_env: "S1" },
              { id: "h", url: "https://b.example/", secret_env: "S1" },
            ],
          },
        ],
      },
      ENV,
      "/srv",
    ),
  ).toThrow("account 3: webhooks: ids must be unique");
});
