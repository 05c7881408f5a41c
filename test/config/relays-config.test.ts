// accounts[].relays: smtp alone is one relay named "default"; relays are named, unique, each with
// its own SMTP settings and secrets; smtp and relays together are refused; relay_policy and the
// breaker's settings have their defaults.
import { describe, expect, test } from "vitest";
import { parseConfig } from "../../src/config/config.js";
import { configErrorOf } from "./config-error.js";

const ENV = { DATABASE_URL: "mysql://root@127.0.0.1:3306/x", PORT: "0", BACKUP_PW: "backup-pw" };
const smtp = (host: string, extra: Record<string, unknown> = {}) => ({ host, user: "ops@example.com", ...extra });
const account = (extra: Record<string, unknown>) => ({ id: 7, from: "Ops <ops@example.com>", ...extra });
const TWO = [
  { name: "primary", smtp: smtp("smtp1.example.com", { auth: { password: "pw" } }) },
  { name: "backup", smtp: smtp("smtp2.example.com", { port: 465, max_connections: 2, auth: { password_env: "BACKUP_PW" } }) },
];

const parse = (json: Record<string, unknown>) => parseConfig(json, ENV, "/srv/outbox");

function configError(json: Record<string, unknown>): string {
  return configErrorOf(() => parse(json));
}

test('smtp alone is one relay named "default", failover, with the breaker\'s defaults', () => {
  const a = parse({ accounts: [account({ smtp: smtp("smtp.example.com") })] }).accounts.get(7)!;
  expect(a.relays).toHaveLength(1);
  expect(a.relays[0]).toMatchObject({ name: "default", smtp: { host: "smtp.example.com", port: 587, tls: "starttls" } });
  expect(a.relayPolicy).toBe("failover");
  expect(a.relayBreaker).toEqual({ failures: 5, coolDownMs: 60_000 });
});

test("relays keep their order, names and own settings and secrets", () => {
  const a = parse({
    accounts: [account({ relays: TWO, relay_policy: "round_robin", relay_breaker: { failures: 2, cool_down_ms: 500 } })],
  }).accounts.get(7)!;
  expect(a.relays.map((r) => r.name)).toEqual(["primary", "backup"]);
  expect(a.relays[0]!.smtp).toMatchObject({
    host: "smtp1.example.com",
    port: 587,
    maxConnections: 5,
    auth: { kind: "password", password: "pw" },
  });
  expect(a.relays[1]!.smtp).toMatchObject({
    host: "smtp2.example.com",
    port: 465,
    tls: "implicit",
    maxConnections: 2,
    auth: { password: "backup-pw" },
  });
  expect(a.relayPolicy).toBe("round_robin");
  expect(a.relayBreaker).toEqual({ failures: 2, coolDownMs: 500 });
  expect(Object.isFrozen(a.relays)).toBe(true);
  expect(Object.isFrozen(a.relays[1])).toBe(true);
});

describe("refused", () => {
  test.each([
    [
      "smtp and relays together",
      account({ smtp: smtp("a.example.com"), relays: TWO }),
      "account 7: set one of smtp, relays and file_dir, not smtp and relays",
    ],
    [
      "relays and file_dir together",
      account({ relays: TWO, file_dir: "out" }),
      "account 7: set one of smtp, relays and file_dir, not relays and file_dir",
    ],
    ["neither", account({}), "account 7: smtp (or relays) is required"],
    ["duplicate names", account({ relays: [TWO[0], { ...TWO[1], name: "primary" }] }), "account 7: relays: names must be unique"],
    ["an empty list", account({ relays: [] }), "account 7: relays must be a non-empty list of relays"],
    [
      "an upper-case name",
      account({ relays: [{ ...TWO[0], name: "Primary" }] }),
      "account 7: relays[0].name must be 1-32 characters of a-z, 0-9, '_' and '-'",
    ],
    [
      "a name of 33 characters",
      account({ relays: [{ ...TWO[0], name: "r".repeat(33) }] }),
      "account 7: relays[0].name must be 1-32 characters of a-z, 0-9, '_' and '-'",
    ],
    ["a relay without smtp", account({ relays: [{ name: "x" }] }), "account 7: relays[0].smtp is required"],
    ["an unknown policy", account({ relays: TWO, relay_policy: "random" }), "account 7: relay_policy must be failover or round_robin"],
    [
      "a relay's missing secret, naming the relay",
      account({ relays: [{ name: "b", smtp: smtp("b.example.com", { auth: { password_env: "NOPE" } }) }] }),
      /account 7 relay b: .*NOPE/,
    ],
  ])("%s", (_, acc, message) => {
    const text = configError({ accounts: [acc] });
    if (typeof message === "string") expect(text).toBe(message);
    else expect(text).toMatch(message);
  });
});
