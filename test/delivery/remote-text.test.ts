// The one redaction rule (redactSecrets): a short secret is replaced only where it stands as a
// whole token, so it never cuts an ordinary word and the cuts never spell it out; a long one
// wherever it appears; metacharacters in a secret are plain characters.
import { describe, expect, test } from "vitest";
import type { SmtpAuth } from "../../src/config/config.js";
import { cleanRemoteText, REDACTED, redactSecrets, secretForms } from "../../src/delivery/remote-text.js";

const b64 = (s: string) => Buffer.from(s).toString("base64");
const password = (user: string, pw: string): SmtpAuth => ({ kind: "password", user, password: pw });

/** Replies a server writes without echoing anything: none may change, whatever the password. */
const ORDINARY = [
  "550 5.1.1 <user@example.com>: mailbox unavailable",
  "550 5.1.1 <mail@example.com>: Recipient address rejected: mailbox full; see https://mail.example.com/x?y=1",
  "421 4.7.0 mx.example.com closing connection, try again later (mailer-daemon)",
  "250 2.0.0 Ok: queued as 4Xyz-abc.def",
  "451 4.3.0 a.b*c+(d)[e]$^ x.y mailbox",
];

describe("a short secret", () => {
  test("`x` leaves ordinary replies exactly as they were", () => {
    const forms = secretForms(password("user@example.com", "x"));
    for (const text of ORDINARY) expect(cleanRemoteText(text, forms)).toBe(cleanRemoteText(text, []));
  });

  test("`mail` cuts neither the username nor a word containing it", () => {
    const forms = secretForms(password("mail@example.com", "mail"));
    for (const text of ORDINARY) expect(cleanRemoteText(text, forms)).toBe(cleanRemoteText(text, []));
    expect(redactSecrets("535 5.7.8 auth failed for mail@example.com: mailbox mailer", forms)).toBe(
      "535 5.7.8 auth failed for mail@example.com: mailbox mailer",
    );
  });

  test("is replaced where it stands as a whole token", () => {
    const forms = secretForms(password("user", "x"));
    expect(redactSecrets("535 bad password x", forms)).toBe(`535 bad password ${REDACTED}`);
    expect(redactSecrets("535 bad password x.", forms)).toBe(`535 bad password ${REDACTED}.`);
    expect(redactSecrets("535 user:x refused", forms)).toBe(`535 user:${REDACTED} refused`);
    expect(redactSecrets("535 pass=x, user=user", forms)).toBe(`535 pass=${REDACTED}, user=user`);
    expect(redactSecrets(`535 got "x" ('x') [x] |x|`, forms)).toBe(`535 got "${REDACTED}" ('${REDACTED}') [${REDACTED}] |${REDACTED}|`);
    expect(redactSecrets("x", forms)).toBe(REDACTED);
  });

  test("its AUTH LOGIN and PLAIN encodings are replaced too", () => {
    const forms = secretForms(password("user", "x"));
    expect(b64("x")).toBe("eA==");
    expect(redactSecrets("535 you sent eA== here", forms)).toBe(`535 you sent ${REDACTED} here`);
    expect(redactSecrets(`535 you sent ${b64("\0user\0x")}`, forms)).toBe(`535 you sent ${REDACTED}`);
    // The same four characters inside another base64 run are not the secret.
    expect(redactSecrets("250 id=QeA==Zm9v", forms)).toBe("250 id=QeA==Zm9v");
  });
});

test("a 64-character secret is replaced wherever it appears, even inside a longer token", () => {
  const pw = `${"P".repeat(18) + "4x-9_Qz".repeat(6)}long`;
  expect(pw).toHaveLength(64);
  const forms = secretForms(password("real", pw));
  expect(redactSecrets(`250 queued; welcome real:${pw}@relay.example.com`, forms)).toBe(
    `250 queued; welcome real:${REDACTED}@relay.example.com`,
  );
  expect(redactSecrets(`535 ${b64(`\0real\0${pw}`).replace(/=+$/, "")}`, forms)).toBe(`535 ${REDACTED}`);
  expect(redactSecrets(`535 LOGIN ${b64(pw)}!`, forms)).toBe(`535 LOGIN ${REDACTED}!`);
  for (const text of ORDINARY) expect(cleanRemoteText(text, forms)).toBe(cleanRemoteText(text, []));
});

describe("a secret with regular-expression metacharacters is matched as plain text", () => {
  test("long: a.b*c+(d)[e]$^|\\", () => {
    const pw = "a.b*c+(d)[e]$^|\\";
    const forms = secretForms(password("user", pw));
    expect(redactSecrets(`535 user:${pw}@host and ${pw}`, forms)).toBe(`535 user:${REDACTED}@host and ${REDACTED}`);
    expect(redactSecrets("451 aXb*c+(d)[e]$^|\\ abbbc", forms)).toBe("451 aXb*c+(d)[e]$^|\\ abbbc");
    for (const text of ORDINARY) expect(cleanRemoteText(text, forms)).toBe(cleanRemoteText(text, []));
  });

  test("short: .*$ and a|b", () => {
    for (const pw of [".*$", "a|b", "(", "\\"]) {
      const forms = secretForms(password("user", pw));
      for (const text of ORDINARY) expect(cleanRemoteText(text, forms), pw).toBe(cleanRemoteText(text, []));
      expect(redactSecrets(`535 bad password ${pw} end`, forms), pw).toBe(`535 bad password ${REDACTED} end`);
    }
  });
});

test("an OAuth2 token and its XOAUTH2 exchange are replaced", () => {
  const token = "ya29.a0Af-token-value";
  const forms = secretForms({ kind: "oauth2", user: "u@example.com", accessToken: token });
  const exchange = b64(`user=u@example.com\x01auth=Bearer ${token}\x01\x01`);
  expect(redactSecrets(`334 ${exchange} / Bearer ${token}`, forms)).toBe(`334 ${REDACTED} / Bearer ${REDACTED}`);
});

test("cleanRemoteText still folds whitespace, replaces key-shaped words and bounds the text", () => {
  const text = cleanRemoteText(`550  a\r\n\tb ${"y".repeat(600)}`, []);
  expect(text.startsWith("550 a b yyy")).toBe(true);
  expect(text).toHaveLength(501);
});
