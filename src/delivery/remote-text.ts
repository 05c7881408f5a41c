// Text that a remote server wrote (an SMTP or IMAP reply, a token endpoint's or webhook receiver's
// answer) is stored as last_error / provider_message_id, returned to read keys and logged. A server
// can echo whatever it was sent — the account's password or token, the base64 AUTH exchange
// carrying them — so every such secret is replaced, anything shaped like an API key too, and the
// text is bounded.
import type { SmtpAuth } from "../config/config.js";
import { KEY_PREFIX } from "../api/auth/keys.js";

export const MAX_REMOTE_TEXT = 500;
export const REDACTED = "[redacted]";
/** A secret's form at least this long is redacted wherever it appears (see redactSecrets). */
export const REDACT_ANYWHERE_MIN = 8;

const API_KEY = new RegExp(`${KEY_PREFIX}[A-Za-z0-9_-]{43}`, "g");
/** What may stand on either side of a whole token: whitespace, quotes, brackets, separators. */
const EDGE = String.raw`\s"'\`()<>\[\]{},;:=|`;

/**
 * Every form in which `auth`'s secrets travel to the server: as given and base64-encoded. With a
 * refresh token, `issued` are the access tokens fetched so far (they change, so ask again later).
 */
export function secretForms(auth: SmtpAuth | undefined, issued: readonly string[] = []): string[] {
  if (!auth) return [];
  const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");
  const xoauth2 = (token: string) => `user=${auth.user}\x01auth=Bearer ${token}\x01\x01`; // AUTH XOAUTH2
  const [secrets, exchanges] =
    auth.kind === "password"
      ? [[auth.password], [`\0${auth.user}\0${auth.password}`, auth.password]] // AUTH PLAIN, AUTH LOGIN
      : auth.kind === "oauth2"
        ? [[auth.accessToken], [xoauth2(auth.accessToken)]]
        : [[auth.client.clientSecret, auth.client.refreshToken, ...issued], issued.map(xoauth2)];
  // A server may echo a base64 run without its padding.
  const encoded = exchanges.map(b64).flatMap((e) => (e.length > 24 ? [e, e.replace(/=+$/, "")] : [e]));
  return [...new Set([...secrets, ...encoded])].filter((s) => s !== "").sort((a, b) => b.length - a.length);
}

/**
 * The one rule for a secret in text. A form of REDACT_ANYWHERE_MIN characters or more is replaced
 * wherever it appears, also inside a longer token (`user:secretpass@host`): such a run does not turn
 * up by chance. A shorter form is replaced only where it stands as a whole token — between the
 * text's start or end, whitespace, quotes, brackets, `,` `;` `:` `=` `|`, or a sentence's final
 * `.` `!` `?` — never inside a word: a password `x` must not cut "mailbox" (nor spell itself out
 * by where the cuts fall).
 */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  const long = secrets.filter((s) => s.length >= REDACT_ANYWHERE_MIN).sort((a, b) => b.length - a.length);
  const short = secrets.filter((s) => s !== "" && s.length < REDACT_ANYWHERE_MIN).sort((a, b) => b.length - a.length);
  let out = text;
  for (const secret of long) out = out.split(secret).join(REDACTED);
  if (short.length === 0) return out;
  const token = new RegExp(`(?<=^|[${EDGE}])(?:${short.map(escapeRegExp).join("|")})(?=$|[${EDGE}]|[.!?]+(?:$|[${EDGE}]))`, "g");
  return out.replace(token, REDACTED);
}

/** Redacts `secrets` (redactSecrets) and API-key-shaped words, folds whitespace, cuts to MAX_REMOTE_TEXT. */
export function cleanRemoteText(text: string, secrets: readonly string[]): string {
  const out = redactSecrets(text, secrets)
    .replace(API_KEY, REDACTED)
    .replace(/[\p{Cc}\u2028\u2029\s]+/gu, " ")
    .trim();
  return out.length > MAX_REMOTE_TEXT ? `${out.slice(0, MAX_REMOTE_TEXT)}…` : out;
}

/** The same cleaning on the fields of a nodemailer error that carry the server's words. */
export function cleanSmtpError(err: unknown, secrets: readonly string[]): unknown {
  if (typeof err !== "object" || err === null) return err;
  const e = err as { message?: unknown; response?: unknown };
  if (typeof e.response === "string") e.response = cleanRemoteText(e.response, secrets);
  if (typeof e.message === "string") e.message = cleanRemoteText(e.message, secrets);
  return err;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
