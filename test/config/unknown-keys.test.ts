// Strict config: a misspelt or unknown key anywhere is refused with its full path and, when a
// known key is a typo away, the suggestion; nothing falls back to a default in silence.
import { describe, expect, test } from "vitest";
import { parseConfig } from "../../src/config/config.js";
import { closest } from "../../src/config/errors.js";
import { configErrorOf } from "./config-error.js";

const ENV = { DATABASE_URL: "mysql://root@127.0.0.1:3306/x", PORT: "0", SMTP_PW: "pw" };
const smtp = (extra: Record<string, unknown> = {}) => ({ host: "smtp.example.com", user: "ops@example.com", ...extra });
const account = (extra: Record<string, unknown> = {}) => ({ id: 7, from: "Ops <ops@example.com>", smtp: smtp(), ...extra });

function configError(json: Record<string, unknown>): string {
  return configErrorOf(() => parseConfig(json, ENV, "/srv/outbox"));
}

describe("unknown keys are refused at every level", () => {
  test.each([
    [{ allow_failur_mode: true }, "allow_failur_mode: unknown setting (did you mean allow_failure_mode?)"],
    [{ accounts: [account({ rate_limt: {} })] }, "account 7: rate_limt: unknown setting (did you mean rate_limit?)"],
    [
      { accounts: [account({ smtp: smtp({ max_conections: 3 }) })] },
      "account 7: smtp.max_conections: unknown setting (did you mean max_connections?)",
    ],
    [
      { accounts: [account({ smtp: smtp({ auth: { pasword_env: "SMTP_PW" } }) })] },
      "account 7: smtp.auth.pasword_env: unknown setting (did you mean password_env?)",
    ],
    [
      { accounts: [account({ rate_limit: { max_per_secnd: 5 } })] },
      "account 7: rate_limit.max_per_secnd: unknown setting (did you mean max_per_second?)",
    ],
    [{ cors: { allowed_origin: ["https://a.example"] } }, "cors.allowed_origin: unknown setting (did you mean allowed_origins?)"],
    [{ tls: { cert: "c.pem" } }, "tls.cert: unknown setting"],
    [{ attachment_store: { directory: "x" } }, "attachment_store.directory: unknown setting"],
    [
      { attachment_policy: { allowed_content_type: [] } },
      "attachment_policy.allowed_content_type: unknown setting (did you mean allowed_content_types?)",
    ],
    [{ sender: { max_in_flght: 3 } }, "sender.max_in_flght: unknown setting (did you mean max_in_flight?)"],
    [
      { api_keys: [{ id: "k", sha256: "0".repeat(64), accounts: "*", scopes: ["send"], scope: "x" }] },
      "api_keys[0].scope: unknown setting (did you mean scopes?)",
    ],
  ])("%j", (json, message) => {
    expect(configError(json)).toBe(message);
  });

  test("every known key still parses", () => {
    const config = parseConfig(
      {
        accounts: [
          account({
            smtp: smtp({ port: 2525, tls: "none", max_connections: 2, auth: { password_env: "SMTP_PW" } }),
            rate_limit: { max_per_second: 2, burst: 2 },
          }),
        ],
        cors: { allowed_origins: ["https://a.example"] },
        allow_failure_mode: true,
      },
      ENV,
      "/srv/outbox",
    );
    expect(config.accounts.get(7)!.relays[0]!.smtp!.maxConnections).toBe(2);
    expect(config.allowFailureMode).toBe(true);
  });
});

describe("closest", () => {
  test("suggests only a near key, not an unrelated word", () => {
    expect(closest("max_conections", ["max_connections", "host"])).toBe("max_connections");
    expect(closest("HOST", ["host"])).toBe("host");
    expect(closest("days", ["outbox_ms", "batch_size"])).toBeUndefined();
  });
});
