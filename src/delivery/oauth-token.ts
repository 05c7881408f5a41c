// Access tokens for an account that signs in with XOAUTH2 and an OAuth2 refresh token (RFC 6749 §6).
//
// nodemailer still speaks XOAUTH2 on the wire (this source plugs into its provisionCallback), but
// its own token generator (nodemailer 10.6.1, lib/xoauth2) is not used to fetch tokens because:
// - the SMTP pool builds one generator per connection (smtp-pool/pool-resource.js), so N pooled
//   connections fetch N tokens and share neither the token nor a refresh under way;
// - it uses a token until the millisecond it expires, with no refresh ahead of expiry;
// - it asks for a new token only after Gmail's 334 error challenge, not after a plain 535 (as
//   Office 365 and smtp-server answer), so the retry on 535 has to be done by the transport anyway.
import type { OAuth2Client } from "../config/config.js";
import { cleanRemoteText } from "./remote-text.js";

/** A token is replaced once it has less than this left (the issue asks for at least 60 s). */
export const REFRESH_AHEAD_MS = 60_000;
/** When the endpoint gives no expires_in (it is only RECOMMENDED), the usual hour is assumed. */
const DEFAULT_LIFETIME_S = 3600;
const MAX_REPLY_BYTES = 64 * 1024;
/** Issued tokens kept for redaction: the current one and those connections may still hold. */
const RECENT_TOKENS = 4;

/** The token endpoint could not be reached or did not give a token; the message is safe to store. */
export class TokenError extends Error {
  /** Classified as nodemailer's authentication failures are: AUTH, transient. */
  readonly code = "EAUTH";
}

/** What may be said about the token (never the token itself). */
export interface TokenState {
  state: "none" | "valid" | "failing";
  /** Epoch ms the current token expires. */
  expiresAt?: number;
  /** Why the last refresh failed, while it is failing. */
  lastError?: string;
}

export interface TokenSourceOptions {
  now?: () => number;
  /** How long one token request may take. */
  timeoutMs?: number;
  /** Told about each refresh's outcome (for a log line and metrics). */
  onRefresh?: (outcome: { ok: true; expiresInS: number; expiresAt: number } | { ok: false; error: string }) => void;
}

export class OAuthTokenSource {
  #token: { value: string; expiresAt: number } | undefined;
  #inflight: Promise<string> | undefined;
  #refreshToken: string;
  #recent: string[] = [];
  #lastError: string | undefined;
  readonly #now: () => number;
  readonly #timeoutMs: number;
  readonly #where: string;

  constructor(
    private readonly client: OAuth2Client,
    private readonly options: TokenSourceOptions = {},
  ) {
    this.#refreshToken = client.refreshToken;
    this.#now = options.now ?? Date.now;
    this.#timeoutMs = options.timeoutMs ?? 15_000;
    const url = new URL(client.tokenUrl);
    this.#where = `OAuth2 token endpoint ${url.origin}${url.pathname}`; // no query: it could carry a secret
  }

  /** A token with more than `aheadMs` left (REFRESH_AHEAD_MS unless told), fetched first if there is none. */
  token(aheadMs = REFRESH_AHEAD_MS): Promise<string> {
    const t = this.#token;
    if (t && this.#now() < t.expiresAt - aheadMs) return Promise.resolve(t.value);
    return this.refresh();
  }

  /** Fetches a new token, or joins the fetch already under way: one request for every caller. */
  refresh(): Promise<string> {
    this.#inflight ??= this.#fetch().finally(() => {
      this.#inflight = undefined;
    });
    return this.#inflight;
  }

  /** After a server refused `stale`: a new token, unless another caller has already replaced it. */
  replace(stale: string): Promise<string> {
    return this.#token?.value === stale ? this.refresh() : this.token();
  }

  get state(): TokenState {
    const t = this.#token;
    if (this.#lastError !== undefined) return { state: "failing", lastError: this.#lastError, expiresAt: t?.expiresAt };
    return t ? { state: "valid", expiresAt: t.expiresAt } : { state: "none" };
  }

  /** Everything secret this source knows, longest first (so no secret is only partly replaced). */
  secrets(): string[] {
    const all = new Set([this.client.clientSecret, this.client.refreshToken, this.#refreshToken, ...this.#recent]);
    return [...all].sort((a, b) => b.length - a.length);
  }

  async #fetch(): Promise<string> {
    try {
      const { value, expiresInS } = await this.#request();
      this.#token = { value, expiresAt: this.#now() + expiresInS * 1000 };
      this.#recent = [value, ...this.#recent.filter((v) => v !== value)].slice(0, RECENT_TOKENS);
      this.#lastError = undefined;
      this.options.onRefresh?.({ ok: true, expiresInS, expiresAt: this.#token.expiresAt });
      return value;
    } catch (err) {
      const error = err instanceof TokenError ? err : new TokenError(`${this.#where}: ${(err as Error).message}`);
      this.#lastError = error.message;
      this.options.onRefresh?.({ ok: false, error: error.message });
      throw error;
    }
  }

  async #request(): Promise<{ value: string; expiresInS: number }> {
    const c = this.client;
    const body = new URLSearchParams({
      grant_type: "refresh_token",
      refresh_token: this.#refreshToken,
      client_id: c.clientId,
      client_secret: c.clientSecret,
    });
    if (c.scope) body.set("scope", c.scope);
    let res: Response;
    try {
      res = await fetch(c.tokenUrl, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
        body,
        redirect: "error", // a redirect would carry the secrets to wherever it points
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      if (e.name === "TimeoutError") throw new TokenError(`${this.#where} did not answer within ${this.#timeoutMs / 1000} s`);
      throw new TokenError(`${this.#where} could not be reached (${e.cause?.code ?? e.name})`);
    }
    const data = parseJson(await boundedText(res));
    if (!res.ok || typeof data?.error === "string") {
      const code = typeof data?.error === "string" ? this.#clean(data.error) : `HTTP ${res.status}`;
      const description = typeof data?.error_description === "string" ? `: ${this.#clean(data.error_description)}` : "";
      const hint = data?.error === "invalid_grant" ? " (the refresh token was refused: it expired or was revoked; renew it)" : "";
      throw new TokenError(`${this.#where} refused the refresh: ${code}${description}${hint}`);
    }
    const value = data?.access_token;
    if (typeof value !== "string" || value === "" || /[^\x21-\x7e]/.test(value))
      throw new TokenError(`${this.#where} answered without a usable access_token`);
    // Some providers rotate the refresh token; the new one is used from now on (kept in memory only).
    if (typeof data?.refresh_token === "string" && data.refresh_token !== "") this.#refreshToken = data.refresh_token;
    const lifetime = Number(data?.expires_in);
    return { value, expiresInS: Number.isFinite(lifetime) && lifetime > 0 ? lifetime : DEFAULT_LIFETIME_S };
  }

  /** The endpoint's own words, without anything secret and bounded. */
  #clean(text: string): string {
    return cleanRemoteText(text, this.secrets()).slice(0, 200);
  }
}

async function boundedText(res: Response): Promise<string> {
  const length = Number(res.headers.get("content-length"));
  if (length > MAX_REPLY_BYTES || !res.body) {
    await res.body?.cancel();
    return "";
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
    size += chunk.length;
    if (size > MAX_REPLY_BYTES) return "";
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
