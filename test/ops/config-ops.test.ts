// The operations settings: per-account rate limits, retention, timer bounds, and which settings a
// reload applies and which wait for a restart.
import { describe, expect, test } from "vitest";
import { parseConfig } from "../../src/config/config.js";
import { mergeReload } from "../../src/app/reload.js";
import { configErrorOf } from "../config/config-error.js";

const ENV = { DATABASE_URL: "mysql://root@127.0.0.1:3306/x", PORT: "0" };
const account = (extra: Record<string, unknown> = {}, id = 7) => ({
  id,
  from: "Ops <ops@example.com>",
  smtp: { host: "smtp.example.com" },
  ...extra,
});
const parse = (json: Record<string, unknown>, env: NodeJS.ProcessEnv = ENV) => parseConfig(json, env, "/srv/outbox");

function configError(json: Record<string, unknown>): string {
  return configErrorOf(() => parse(json));
}

describe("rate_limit", () => {
  test("burst defaults to one second's worth, the slow-down pause to 30 s", () => {
    expect(parse({ accounts: [account({ rate_limit: { max_per_second: 2.5 } })] }).accounts.get(7)!.rateLimit).toEqual({
      maxPerSecond: 2.5,
      burst: 3,
      slowDownPauseMs: 30_000,
    });
    expect(parse({ accounts: [account({ rate_limit: { max_per_second: 0.2 } })] }).accounts.get(7)!.rateLimit!.burst).toBe(1);
    expect(parse({ accounts: [account()] }).accounts.get(7)!.rateLimit).toBeUndefined();
  });

  test("a pause alone, and file accounts, are allowed", () => {
    expect(parse({ accounts: [account({ rate_limit: { slow_down_pause_ms: 5_000 } })] }).accounts.get(7)!.rateLimit).toEqual({
      maxPerSecond: undefined,
      burst: 1,
      slowDownPauseMs: 5_000,
    });
    const files = parse({ accounts: [{ id: 1, from: "a@example.com", file_dir: "out", rate_limit: { max_per_second: 1 } }] });
    expect(files.accounts.get(1)!.rateLimit!.maxPerSecond).toBe(1);
  });

  test.each([
    [{ max_per_second: 0 }, "account 7: rate_limit.max_per_second must be a number above 0"],
    [{ max_per_second: "5" }, "account 7: rate_limit.max_per_second must be a number above 0"],
    [{ burst: 1.5 }, "account 7: rate_limit: burst must be a positive integer"],
    [{ per_minute: 5 }, "account 7: rate_limit.per_minute: unknown setting"],
    [
      { slow_down_pause_ms: 2 ** 31 },
      "account 7: rate_limit: slow_down_pause_ms must be at most 2147483647 (about 24.8 days; Node timers cannot wait longer)",
    ],
  ])("%j is refused", (rateLimit, message) => {
    expect(configError({ accounts: [account({ rate_limit: rateLimit })] })).toBe(message);
  });
});

describe("retention", () => {
  test("defaults to 30 days (received mail 90) in batches of 500; ages may exceed the timer limit", () => {
    expect(parse({ accounts: [account()] }).retention).toEqual({
      outboxMs: 30 * 24 * 3_600_000,
      mailMessageMs: 90 * 24 * 3_600_000,
      batchSize: 500,
    });
    expect(parse({ accounts: [account()], retention: { mail_message_ms: 400 * 24 * 3_600_000 } }).retention.mailMessageMs).toBe(
      400 * 24 * 3_600_000,
    );
    expect(parse({ accounts: [account()], retention: { outbox_ms: 365 * 24 * 3_600_000 } }).retention.outboxMs).toBe(365 * 24 * 3_600_000);
    expect(parse({ accounts: [account()], watch: { event_retention_ms: 60 * 24 * 3_600_000 } }).watch.eventRetentionMs).toBe(
      60 * 24 * 3_600_000,
    );
  });

  test("unknown settings are refused", () => {
    expect(configError({ accounts: [account()], retention: { days: 30 } })).toBe("retention.days: unknown setting");
  });
});

describe("timer settings are at most 2147483647 ms", () => {
  const LIMIT = "must be at most 2147483647 (about 24.8 days; Node timers cannot wait longer)";
  test.each([
    [{ sender: { poll_interval_ms: 2 ** 31 } }, `sender: poll_interval_ms ${LIMIT}`],
    [{ sender: { lease_ms: 2 ** 31 } }, `sender: lease_ms ${LIMIT}`],
    [{ sender: { shutdown_timeout_ms: 2 ** 32 } }, `sender: shutdown_timeout_ms ${LIMIT}`],
    [{ watch: { heartbeat_ms: 2 ** 31 } }, `watch: heartbeat_ms ${LIMIT}`],
    [{ accounts: [account({ smtp: { host: "h", socket_timeout_ms: 2 ** 31 } })] }, `account 7: smtp: socket_timeout_ms ${LIMIT}`],
  ])("%j", (json, message) => {
    expect(configError({ accounts: [account()], ...json })).toBe(message);
  });

  test("the limit itself is accepted", () => {
    expect(parse({ accounts: [account()], sender: { lease_ms: 2_147_483_647 } }).sender.leaseMs).toBe(2_147_483_647);
  });
});

test("a reload applies accounts, keys, CORS, limits and retention; listen address, database and watch wait for a restart", () => {
  const current = parse({ accounts: [account()] }, { ...ENV, PORT: "8080" });
  const next = parse(
    {
      accounts: [account({ rate_limit: { max_per_second: 1 } }), account({}, 8)],
      cors: { allowed_origins: ["https://app.example.com"] },
      retention: { outbox_ms: 1_000_000 },
      sender: { max_attempts: 3 },
      watch: { heartbeat_ms: 1_000 },
      api_keys: [{ id: "k", sha256: "a".repeat(64), accounts: "*", scopes: ["send"] }],
    },
    { ...ENV, PORT: "9090", DATABASE_URL: "mysql://root@db.example:3306/y" },
  );
  const { config, restartOnly } = mergeReload(current, next);
  expect(restartOnly.sort()).toEqual(["databaseUrl", "port", "watch"]);
  expect(config).toMatchObject({ port: 8080, databaseUrl: current.databaseUrl, watch: current.watch });
  expect([...config.accounts.keys()]).toEqual([7, 8]);
  expect(config.accounts.get(7)!.rateLimit!.maxPerSecond).toBe(1);
  expect(config.cors.allowedOrigins).toEqual(["https://app.example.com"]);
  expect(config.apiKeys.map((k) => k.id)).toEqual(["k"]);
  expect(config.retention.outboxMs).toBe(1_000_000);
  expect(config.sender.maxAttempts).toBe(3);
  expect(Object.isFrozen(config)).toBe(true);
  expect(mergeReload(current, current).restartOnly).toEqual([]);
});
