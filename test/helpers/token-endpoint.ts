/**
 * A real OAuth2 token endpoint for tests (node:http on 127.0.0.1, port 0): answers the refresh
 * grant (RFC 6749 §6) with short-lived access tokens, counts requests, knows which tokens it
 * issued and when they expire, and can be told to fail or to hold its answers.
 *
 *   const ep = await startTokenEndpoint({ clientSecret: "s", refreshToken: "r" });
 *   // smtp.auth.oauth2.token_url = ep.url; the sink asks ep.valid(token)
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** "ok": tokens; "down": HTTP 503; "invalid_grant": the RFC 6749 §5.2 refusal of the refresh token. */
export type EndpointMode = "ok" | "down" | "invalid_grant";

export interface TokenEndpointOptions {
  clientId?: string;
  clientSecret: string;
  refreshToken: string;
  /** expires_in of each token, in seconds (default 3600). */
  lifetimeS?: number;
  /** Answer each refresh with a new refresh token, and accept only the latest one from then on. */
  rotate?: boolean;
}

export interface TokenEndpoint {
  readonly url: string;
  /** POSTs received, answered or not. */
  readonly calls: number;
  /** The form bodies received, in order. */
  readonly requests: readonly URLSearchParams[];
  /** Tokens issued, in order. */
  readonly issued: readonly string[];
  /** Requests waiting for release() while held. */
  readonly waiting: number;
  mode: EndpointMode;
  /** What invalid_grant's error_description says (a hostile endpoint may echo the refresh token). */
  refusalText: string;
  /** Issued here, not expired and not revoked. */
  valid(token: string): boolean;
  /** Holds every answer until release(). */
  hold(): void;
  release(): void;
  close(): Promise<void>;
}

export async function startTokenEndpoint(options: TokenEndpointOptions): Promise<TokenEndpoint> {
  const expiry = new Map<string, number>();
  const requests: URLSearchParams[] = [];
  const issued: string[] = [];
  let held: (() => void)[] | undefined;
  let refreshToken = options.refreshToken;
  let waiting = 0;

  const answer = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" }).end(JSON.stringify(body));
  };
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    let text = "";
    for await (const chunk of req) text += String(chunk);
    const form = new URLSearchParams(text);
    requests.push(form);
    if (held) {
      waiting++;
      await new Promise<void>((resolve) => held!.push(resolve));
      waiting--;
    }
    if (endpoint.mode === "down") return answer(res, 503, { error: "temporarily_unavailable" });
    const grantOk =
      req.method === "POST" &&
      form.get("grant_type") === "refresh_token" &&
      form.get("refresh_token") === refreshToken &&
      form.get("client_secret") === options.clientSecret &&
      form.get("client_id") === (options.clientId ?? "outbox-client");
    if (endpoint.mode === "invalid_grant" || !grantOk) {
      return answer(res, 400, { error: "invalid_grant", error_description: endpoint.refusalText });
    }
    const token = `at-${issued.length + 1}-${Math.random().toString(36).slice(2, 10)}`;
    const lifetimeS = options.lifetimeS ?? 3600;
    issued.push(token);
    expiry.set(token, Date.now() + lifetimeS * 1000);
    if (options.rotate) refreshToken = `${options.refreshToken}-${issued.length}`;
    const rotated = options.rotate ? { refresh_token: refreshToken } : {};
    answer(res, 200, { access_token: token, token_type: "Bearer", expires_in: lifetimeS, scope: form.get("scope") ?? "", ...rotated });
  };

  const server = createServer((req, res) => void handle(req, res).catch(() => res.destroy()));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  const endpoint: TokenEndpoint = {
    url: `http://127.0.0.1:${port}/oauth2/token`,
    get calls() {
      return requests.length;
    },
    requests,
    issued,
    get waiting() {
      return waiting;
    },
    mode: "ok",
    refusalText: "The refresh token has expired or been revoked.",
    valid: (token) => (expiry.get(token) ?? 0) > Date.now(),
    hold() {
      held ??= [];
    },
    release() {
      const waiters = held ?? [];
      held = undefined;
      for (const go of waiters) go();
    },
    async close() {
      endpoint.release();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return endpoint;
}
