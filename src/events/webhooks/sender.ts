// One webhook request over node:http/https: signed, to the checked address, no redirects
// followed, bounded in time and in the reply bytes it keeps. The answer is classified for the
// retry policy: 2xx ok; 408, 429, 5xx, timeouts and connection errors retry; anything else is
// permanent.
import http from "node:http";
import https from "node:https";
import type { LookupFunction } from "node:net";
import type { WebhookConfig } from "../../config/webhooks.js";
import { cleanRemoteText } from "../../delivery/remote-text.js";
import { resolveTarget, TargetRefused, type Resolve } from "./ssrf.js";

export type SendResult =
  | { kind: "ok"; status: number }
  | { kind: "retry" | "permanent"; status?: number; error: string; retryAfterMs?: number };

/** Reply bytes read (the rest is dropped); last_error keeps 500 characters of them. */
const MAX_REPLY_BYTES = 4096;

export interface Request {
  endpoint: WebhookConfig;
  webhookId: string;
  body: string;
  /** Database time, seconds: webhook-timestamp. */
  timestampSeconds: number;
  resolve?: Resolve;
}

export async function sendWebhook(req: Request): Promise<SendResult> {
  const { endpoint } = req;
  let target;
  try {
    target = await resolveTarget(endpoint.url, req.resolve);
  } catch (err) {
    // An address the rules refuse is permanent for this delivery (recorded); a DNS failure is retried.
    return { kind: err instanceof TargetRefused ? "permanent" : "retry", error: (err as Error).message };
  }
  const lookup: LookupFunction = (_host, opts, cb) => {
    if (opts.all) (cb as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [target]);
    else cb(null, target.address, target.family);
  };
  const headers = {
    "content-type": "application/json",
    "user-agent": "email-outbox-webhooks",
    "webhook-id": req.webhookId,
    "webhook-timestamp": String(req.timestampSeconds),
    "webhook-signature": endpoint.secrets.sign(req.webhookId, req.timestampSeconds, req.body),
    "content-length": String(Buffer.byteLength(req.body)),
  };
  const mod = endpoint.url.protocol === "https:" ? https : http;
  return new Promise<SendResult>((resolve) => {
    let settled = false;
    const done = (r: SendResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    const request = mod.request(endpoint.url, { method: "POST", headers, lookup, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (chunk: Buffer) => {
        if (size < MAX_REPLY_BYTES) chunks.push(chunk.subarray(0, MAX_REPLY_BYTES - size));
        size += chunk.length;
        if (size >= MAX_REPLY_BYTES) res.destroy();
      });
      const finish = () => done(classify(res.statusCode ?? 0, res.headers, Buffer.concat(chunks).toString("utf8")));
      res.on("end", finish);
      res.on("close", finish);
      res.on("error", finish);
    });
    const timer = setTimeout(() => {
      request.destroy();
      done({ kind: "retry", error: `no answer within ${endpoint.timeoutMs} ms` });
    }, endpoint.timeoutMs);
    request.on("error", (err: NodeJS.ErrnoException) => done({ kind: "retry", error: `connection failed: ${err.code ?? err.message}` }));
    request.end(req.body);
  });
}

function classify(status: number, headers: http.IncomingHttpHeaders, reply: string): SendResult {
  if (status >= 200 && status < 300) return { kind: "ok", status };
  // The receiver never saw a secret (only signatures), so there is none to redact: cleaning folds and bounds it.
  const error = cleanRemoteText(`HTTP ${status}${status >= 300 && status < 400 ? " (redirect not followed)" : ""}: ${reply}`, []);
  if (status === 408 || status === 429 || status >= 500)
    return { kind: "retry", status, error, retryAfterMs: retryAfter(headers["retry-after"]) };
  return { kind: "permanent", status, error };
}

/** Retry-After as seconds or an HTTP date; undefined when absent or unreadable. */
export function retryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
