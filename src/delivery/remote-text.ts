// Text that a remote server wrote (an SMTP reply, later IMAP and webhook answers) is stored as
// last_error / provider_message_id, returned to read keys and logged. A server can echo whatever
// it was sent — the account's password or token, the base64 AUTH exchange carrying them — so
// every such secret is replaced, anything shaped like an API key too, and the text is bounded.
import type { SmtpAuth } from "../config/config.js";
import { KEY_PREFIX } from "../api/auth/keys.js";

export const MAX_REMOTE_TEXT = 500;
export const REDACTED = "[redacted]";

const API_KEY = new RegExp(`${KEY_PREFIX}[A-Za-z0-9_-]{43}`, "g");

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
  // A base64 run may be cut or echoed in part; its first 16 characters are enough to recognise.
  const encoded = exchanges.map(b64).flatMap((e) => (e.length > 24 ? [e, e.replace(/=+$/, "")] : [e]));
  return [...new Set([...secrets, ...encoded])].filter((s) => s !== "").sort((a, b) => b.length - a.length);
}

/** Replaces `secrets` and API-key-shaped words, folds whitespace and cuts to MAX_REMOTE_TEXT. */
export function cleanRemoteText(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) out = out.split(secret).join(REDACTED);
  out = out.replace(API_KEY, REDACTED).replace(/[\p{Cc}\u2028\u2029\s]+/gu, " ").trim();
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
