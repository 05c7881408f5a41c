// Config for XOAUTH2 with a refresh token (smtp.auth.oauth2) and DKIM signing (dkim): what is
// accepted, and the clear errors for the rest, which never quote a secret or key material.
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { parseConfig } from "../../src/config/config.js";
import { configErrorOf } from "./config-error.js";

const ENV = {
  DATABASE_URL: "mysql://root@127.0.0.1:3306/x",
  PORT: "0",
  OAUTH_SECRET: "cs-Config-Secret",
  OAUTH_REFRESH: "rt-Config-Refresh",
};
const OAUTH2 = {
  token_url: "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token",
  client_id: "0b4c1e2f-app",
  client_secret_env: "OAUTH_SECRET",
  refresh_token_env: "OAUTH_REFRESH",
  scope: "https://outlook.office.com/SMTP.Send offline_access",
};

const account = (extra: Record<string, unknown>) => ({
  id: 7,
  from: "Ops <ops@contoso.com>",
  smtp: { host: "smtp.office365.com", user: "ops@contoso.com" },
  ...extra,
});
const withOAuth2 = (oauth2: Record<string, unknown>, auth: Record<string, unknown> = {}) =>
  account({ smtp: { host: "smtp.office365.com", user: "ops@contoso.com", auth: { oauth2, ...auth } } });
const parse = (acct: Record<string, unknown>, env: NodeJS.ProcessEnv = ENV) =>
  parseConfig({ accounts: [acct] }, env, "/srv/outbox").accounts.get(7)!;

function configError(acct: Record<string, unknown>, env: NodeJS.ProcessEnv = ENV): string {
  return configErrorOf(() => parse(acct, env));
}

describe("smtp.auth.oauth2", () => {
  test("is read with its secrets from the environment", () => {
    expect(parse(withOAuth2(OAUTH2)).relays[0]!.smtp!.auth).toEqual({
      kind: "oauth2-refresh",
      user: "ops@contoso.com",
      client: {
        tokenUrl: OAUTH2.token_url,
        clientId: "0b4c1e2f-app",
        clientSecret: "cs-Config-Secret",
        refreshToken: "rt-Config-Refresh",
        scope: OAUTH2.scope,
      },
    });
  });

  test("http:// is allowed to a loopback token endpoint only", () => {
    expect(parse(withOAuth2({ ...OAUTH2, token_url: "http://127.0.0.1:8099/token" })).relays[0]!.smtp!.auth).toMatchObject({
      client: { tokenUrl: "http://127.0.0.1:8099/token" },
    });
    const plain = "account 7: smtp.auth.oauth2.token_url must be an https:// URL without credentials (http:// only to a loopback host)";
    expect(configError(withOAuth2({ ...OAUTH2, token_url: "http://login.example.com/token" }))).toBe(plain);
    expect(configError(withOAuth2({ ...OAUTH2, token_url: "https://u:p@login.example.com/token" }))).toBe(plain);
    expect(configError(withOAuth2({ ...OAUTH2, token_url: "login.example.com/token" }))).toBe(
      "account 7: smtp.auth.oauth2.token_url must be an https:// URL",
    );
  });

  test.each([
    [
      "an inline client_secret",
      { client_secret: "cs-Inline" },
      "account 7: smtp.auth.oauth2: client_secret must be given by environment variable (client_secret_env)",
    ],
    [
      "an inline refresh_token",
      { refresh_token: "rt-Inline" },
      "account 7: smtp.auth.oauth2: refresh_token must be given by environment variable (refresh_token_env)",
    ],
    ["an unknown setting", { tenant: "contoso" }, "account 7: smtp.auth.oauth2.tenant: unknown setting"],
    ["no client_id", { client_id: undefined }, "account 7: smtp.auth.oauth2.client_id is required (without control characters)"],
    ["a scope with a quote", { scope: 'SMTP.Send "x"' }, "account 7: smtp.auth.oauth2.scope must be space-separated scope tokens"],
    [
      "an unset variable",
      { refresh_token_env: "NOT_SET" },
      "account 7: smtp.auth.oauth2: environment variable NOT_SET (refresh_token_env) is not set",
    ],
    [
      "no refresh_token_env",
      { refresh_token_env: undefined },
      "account 7: smtp.auth.oauth2.refresh_token_env must name an environment variable",
    ],
  ])("%s is refused", (_, change, message) => {
    const error = configError(withOAuth2({ ...OAUTH2, ...change }));
    expect(error).toBe(message);
    expect(error).not.toMatch(/cs-|rt-/);
  });

  test("together with a password or a static token it is refused", () => {
    expect(configError(withOAuth2(OAUTH2, { password: "pw" }))).toBe(
      "account 7: smtp.auth must set exactly one of password/oauth_token/oauth2",
    );
    expect(configError(withOAuth2(OAUTH2, { oauth_token_env: "OAUTH_SECRET" }))).toBe(
      "account 7: smtp.auth must set exactly one of password/oauth_token/oauth2",
    );
  });
});

describe("dkim", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "dkim-config-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const pkcs1 = rsa.privateKey.export({ type: "pkcs1", format: "pem" }).toString();
  const keyFile = path.join(dir, "key.pem");
  writeFileSync(keyFile, pkcs1);
  const envWith = (value: string) => ({ ...ENV, DKIM_KEY: value });
  const dkim = (d: Record<string, unknown>) => account({ dkim: { domain: "contoso.com", selector: "mail2026", ...d } });

  test("an RSA key from a file (relative to the config file) or from the environment", () => {
    const relative = parseConfig({ accounts: [dkim({ private_key_file: "key.pem" })] }, ENV, dir).accounts.get(7)!.dkim!;
    expect(relative).toEqual({
      domain: "contoso.com",
      selector: "mail2026",
      privateKey: rsa.privateKey.export({ type: "pkcs8", format: "pem" }),
    });
    expect(parse(dkim({ domain: "Mail.Contoso.COM", private_key_env: "DKIM_KEY" }), envWith(pkcs1)).dkim).toMatchObject({
      domain: "mail.contoso.com",
    });
  });

  test("also on a file_dir account", () => {
    const acct = {
      id: 7,
      from: "Dev <dev@contoso.com>",
      file_dir: "out",
      dkim: { domain: "contoso.com", selector: "dev", private_key_file: keyFile },
    };
    expect(parse(acct).dkim?.selector).toBe("dev");
  });

  const ed25519 = generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  const encrypted = rsa.privateKey.export({ type: "pkcs8", format: "pem", cipher: "aes-256-cbc", passphrase: "pw" }).toString();
  const publicOnly = rsa.publicKey.export({ type: "spki", format: "pem" }).toString();
  const from = "account 7: dkim: the key from private_key_env DKIM_KEY";
  test.each([
    ["an Ed25519 key", ed25519, `${from} is ed25519: only RSA keys can sign (nodemailer signs rsa-sha256 only)`],
    ["an encrypted key", encrypted, `${from} is not an unencrypted PEM private key`],
    ["a public key", publicOnly, `${from} is not an unencrypted PEM private key`],
    ["a truncated key", pkcs1.slice(0, 400), `${from} is not an unencrypted PEM private key`],
  ])("%s is refused without quoting it", (_, pem, message) => {
    const error = configError(dkim({ private_key_env: "DKIM_KEY" }), envWith(pem));
    expect(error).toBe(message);
    expect(error).not.toContain(pem.split("\n")[1]!.slice(0, 16));
  });

  test("an RSA key under 1024 bits is refused", () => {
    const small = generateKeyPairSync("rsa", { modulusLength: 768 }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    expect(configError(dkim({ private_key_env: "DKIM_KEY" }), envWith(small))).toBe(
      `${from} has 768 bits: DKIM needs at least 1024 (2048 recommended)`,
    );
  });

  test.each([
    ["no key", {}, "account 7: dkim: set exactly one of private_key_file/private_key_env"],
    [
      "two keys",
      { private_key_file: keyFile, private_key_env: "DKIM_KEY" },
      "account 7: dkim: set exactly one of private_key_file/private_key_env",
    ],
    [
      "a missing file",
      { private_key_file: "/nonexistent/k.pem" },
      "account 7: dkim: private_key_file /nonexistent/k.pem cannot be read (ENOENT)",
    ],
    [
      "an unset variable",
      { private_key_env: "NO_SUCH_KEY" },
      "account 7: dkim: environment variable NO_SUCH_KEY (private_key_env) is not set",
    ],
    ["an unknown setting", { private_key_file: keyFile, algorithm: "ed25519" }, "account 7: dkim.algorithm: unknown setting"],
    [
      "a one-label domain",
      { domain: "localhost", private_key_file: keyFile },
      "account 7: dkim.domain must be a domain name such as example.com",
    ],
    [
      "a domain with a space",
      { domain: "con toso.com", private_key_file: keyFile },
      "account 7: dkim.domain must be a domain name such as example.com",
    ],
    [
      "a selector with an underscore",
      { selector: "mail_2026", private_key_file: keyFile },
      "account 7: dkim.selector must be DNS labels such as mail2026",
    ],
    [
      "a selector with a semicolon",
      { selector: "a;b=c", private_key_file: keyFile },
      "account 7: dkim.selector must be DNS labels such as mail2026",
    ],
  ])("%s is refused", (_, change, message) => {
    expect(configError(dkim(change))).toBe(message);
  });
});
