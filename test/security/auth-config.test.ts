// api_keys, allow_unauthenticated, tls and cors in the config, and what is said at start.
import { describe, expect, test } from "vitest";
import { ConfigError, parseConfig } from "../../src/config/config.js";
import { findKey, generateKey, hashKey } from "../../src/api/auth/keys.js";
import { isLoopbackHost } from "../../src/api/auth/loopback.js";
import { methodRule } from "../../src/api/auth/scopes.js";
import { startTestApp } from "../helpers/app.js";
import { testKey } from "./keys.js";

const parse = (json: Record<string, unknown>, host = "127.0.0.1") => parseConfig(json, { HOST: host }, "/");
const key = testKey("k", [1], ["send"]);

describe("loopback", () => {
  test.each(["127.0.0.1", "127.8.9.10", "::1", "[::1]", "localhost", "::ffff:127.0.0.1"])("%s is loopback", (host) => {
    expect(isLoopbackHost(host)).toBe(true);
  });
  test.each(["0.0.0.0", "::", "10.0.0.1", "192.168.1.2", "example.com", "128.0.0.1", "::ffff:10.0.0.1"])("%s is not", (host) => {
    expect(isLoopbackHost(host)).toBe(false);
  });
});

describe("no keys", () => {
  test("are allowed on loopback", () => {
    expect(parse({}).apiKeys).toEqual([]);
  });
  test("refuse any other address", () => {
    expect(() => parse({}, "0.0.0.0")).toThrow(
      new ConfigError("HOST 0.0.0.0 is not loopback: configure api_keys, or set allow_unauthenticated: true"),
    );
  });
  test("are allowed elsewhere with allow_unauthenticated", () => {
    expect(parse({ allow_unauthenticated: true }, "0.0.0.0").allowUnauthenticated).toBe(true);
  });
  test("with keys, any address is fine", () => {
    expect(parse({ api_keys: [key.entry] }, "0.0.0.0").apiKeys).toHaveLength(1);
  });
});

describe("api_keys", () => {
  test("are kept as given: id, hash, accounts, scopes", () => {
    const [k] = parse({ api_keys: [key.entry, testKey("all", "*").entry] }).apiKeys;
    expect(k).toEqual({ id: "k", sha256: key.entry.sha256, accounts: new Set([1]), scopes: new Set(["send"]) });
    expect(parse({ api_keys: [testKey("all", "*").entry] }).apiKeys[0]!.accounts).toBe("all");
  });

  const entry = key.entry;
  test.each([
    ["not an array", { api_keys: {} }, "api_keys must be an array"],
    ["no id", { api_keys: [{ ...entry, id: undefined }] }, "api_keys[0]: id must be 1-64 letters, digits, '.', '_' or '-'"],
    ["id with a space", { api_keys: [{ ...entry, id: "a b" }] }, "api_keys[0]: id must be 1-64 letters, digits, '.', '_' or '-'"],
    [
      "a plain key instead of a hash",
      { api_keys: [{ ...entry, sha256: generateKey() }] },
      "api key k: sha256 must be 64 lower-case hex digits",
    ],
    [
      "upper-case hash",
      { api_keys: [{ ...entry, sha256: entry.sha256.toUpperCase() }] },
      "api key k: sha256 must be 64 lower-case hex digits",
    ],
    ["no accounts", { api_keys: [{ ...entry, accounts: [] }] }, 'api key k: accounts must be "*" or a non-empty list of account ids'],
    ["account 0", { api_keys: [{ ...entry, accounts: [0] }] }, 'api key k: accounts must be "*" or a non-empty list of account ids'],
    ["accounts 'all'", { api_keys: [{ ...entry, accounts: "all" }] }, 'api key k: accounts must be "*" or a non-empty list of account ids'],
    [
      "unknown scope",
      { api_keys: [{ ...entry, scopes: ["send", "admin"] }] },
      "api key k: scopes must be a non-empty list of send, reply, retry, cancel, read, watch, ingest, suppress, metrics, templates",
    ],
    [
      "no scopes",
      { api_keys: [{ ...entry, scopes: [] }] },
      "api key k: scopes must be a non-empty list of send, reply, retry, cancel, read, watch, ingest, suppress, metrics, templates",
    ],
    ["duplicate id", { api_keys: [entry, { ...entry, sha256: hashKey("other") }] }, "api_keys: ids must be unique"],
    ["duplicate hash", { api_keys: [entry, { ...entry, id: "k2" }] }, "api_keys: two entries have the same sha256"],
  ])("refuses %s", (_name, json, message) => {
    expect(() => parse(json)).toThrow(new ConfigError(message));
  });
});

describe("tls and cors", () => {
  test("tls files must be readable", () => {
    expect(() => parse({ tls: { cert_file: "/nonexistent/cert.pem", key_file: "/nonexistent/key.pem" } })).toThrow(
      new ConfigError("tls.cert_file /nonexistent/cert.pem cannot be read"),
    );
    expect(() => parse({ tls: { cert_file: "/etc/hostname" } })).toThrow(new ConfigError("tls.key_file is required"));
  });
  test("no origin is allowed by default", () => {
    expect(parse({}).cors.allowedOrigins).toEqual([]);
  });
  test.each(["*", "https://app.example.com/", "app.example.com", "https://app.example.com/path", "javascript:alert(1)"])(
    "origin %s is refused",
    (origin) => {
      expect(() => parse({ cors: { allowed_origins: [origin] } })).toThrow(ConfigError);
    },
  );
  test("exact origins are kept, lower-cased", () => {
    expect(parse({ cors: { allowed_origins: ["https://App.example.com", "http://localhost:5173"] } }).cors.allowedOrigins).toEqual([
      "https://app.example.com",
      "http://localhost:5173",
    ]);
  });
});

describe("keys and methods", () => {
  test("a presented key matches only its own entry", () => {
    const a = testKey("a", [1]);
    const b = testKey("b", [2]);
    const entries = parse({ api_keys: [a.entry, b.entry] }).apiKeys;
    expect(findKey(entries, b.key)?.id).toBe("b");
    expect(findKey(entries, a.key)?.id).toBe("a");
    expect(findKey(entries, `${a.key}x`)).toBeUndefined();
    expect(findKey(entries, a.entry.sha256)).toBeUndefined();
  });
  test("health and reflection are open; an unlisted method has no scope (denied)", () => {
    expect(methodRule("grpc.health.v1.Health", "Check")).toEqual({ open: true });
    expect(methodRule("grpc.reflection.v1alpha.ServerReflection", "ServerReflectionInfo")).toEqual({ open: true });
    expect(methodRule("email.v1.EmailService", "Send")).toEqual({ open: false, scope: "send" });
    expect(methodRule("email.v1.EmailService", "DeleteEverything")).toEqual({ open: false, scope: undefined });
  });
});

describe("at start", () => {
  test("allow_unauthenticated on a public address and unverified SMTP certificates are warned about", async () => {
    const smtp = { host: "127.0.0.1", port: 2525, tls: "starttls", tls_reject_unauthorized: false };
    const t = await startTestApp({
      label: "auth_warn",
      background: false,
      host: "0.0.0.0",
      json: { allow_unauthenticated: true, accounts: [{ id: 7, from: "a@example.com", smtp }] },
    });
    await t.close();
    const warnings = t.logs.filter((l) => l.level === 40).map((l) => [l.msg, l.account_id]);
    expect(warnings).toEqual(
      expect.arrayContaining([
        ["allow_unauthenticated: anyone who can reach this address can send mail", undefined],
        ["smtp tls_reject_unauthorized is false: the SMTP server's certificate is not verified", 7],
      ]),
    );
  });
});
