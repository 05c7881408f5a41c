// accounts[].imap: defaults, each refusal with a clear message that names the account, and the
// password never in a message.
import { describe, expect, test } from "vitest";
import { parseConfig } from "../../src/config/config.js";
import { configErrorOf } from "./config-error.js";

const ENV = { DATABASE_URL: "mysql://root@127.0.0.1:3306/x", PORT: "0", IMAP_PW: "imap-env-secret" };
const imap = (extra: Record<string, unknown> = {}) => ({
  host: "imap.example.com",
  user: "ops@example.com",
  auth: { password: "imap-inline-secret" },
  ...extra,
});
const withImap = (value: unknown) => ({ accounts: [{ id: 7, from: "Ops <ops@example.com>", file_dir: "out", imap: value }] });

function configError(json: Record<string, unknown>, env: NodeJS.ProcessEnv = ENV): string {
  return configErrorOf(() => parseConfig(json, env, "/srv/outbox"));
}

test("defaults: implicit TLS on 993, INBOX, certificates checked; password_env read from the environment", () => {
  const config = parseConfig(withImap(imap({ auth: { password_env: "IMAP_PW" } })), ENV, "/srv/outbox");
  expect(config.accounts.get(7)!.imap).toEqual({
    host: "imap.example.com",
    port: 993,
    tls: "implicit",
    mailboxes: ["INBOX"],
    rejectUnauthorized: true,
    auth: { kind: "password", user: "ops@example.com", password: "imap-env-secret" },
  });
  const starttls = parseConfig(
    withImap(imap({ tls: "starttls", mailboxes: ["INBOX", "Bounces"], auth: { oauth_token: "tok" } })),
    ENV,
    "/",
  ).accounts.get(7)!.imap!;
  expect([starttls.port, starttls.mailboxes, starttls.auth.kind]).toEqual([143, ["INBOX", "Bounces"], "oauth2"]);
});

describe("refused", () => {
  test.each([
    [imap({ mailbox: ["INBOX"] }), "account 7: imap.mailbox: unknown setting (did you mean mailboxes?)"],
    [imap({ auth: { pasword: "x" } }), "account 7: imap.auth.pasword: unknown setting (did you mean password?)"],
    [imap({ host: " " }), "account 7: imap host is required"],
    [imap({ port: 0 }), "account 7: imap port must be 1..65535"],
    [imap({ tls: "ssl" }), "account 7: imap tls must be implicit, starttls or none"],
    [imap({ auth: undefined }), "account 7: imap.auth is required (password or oauth_token)"],
    [imap({ user: undefined }), "account 7: imap user is required with imap.auth"],
    [
      imap({ auth: { password: "imap-inline-secret", oauth_token: "tok" } }),
      "account 7: imap.auth must set exactly one of password/oauth_token",
    ],
    [imap({ auth: { password_env: "NOPE" } }), "account 7: environment variable NOPE (imap.auth.password_env) is not set"],
    [
      imap({ mailboxes: [] }),
      "account 7: imap mailboxes must be a non-empty list of mailbox names (at most 255 characters, no control characters)",
    ],
    [
      imap({ mailboxes: ["IN\r\nBOX"] }),
      "account 7: imap mailboxes must be a non-empty list of mailbox names (at most 255 characters, no control characters)",
    ],
    [imap({ mailboxes: ["INBOX", "INBOX"] }), "account 7: imap mailboxes must not repeat a name"],
    [imap({ tls_reject_unauthorized: "no" }), "account 7: imap tls_reject_unauthorized must be true or false"],
    ["imap.example.com", "account 7: imap must be an object"],
  ])("%j", (value, message) => {
    const text = configError(withImap(value));
    expect(text).toBe(message);
    expect(text).not.toContain("secret");
  });
});
