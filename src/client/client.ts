// The typed EmailService client for Node: one call picks the protocol (gRPC, gRPC-Web or
// Connect, all served on the same port) and, when the server has API keys, sends
// `authorization: Bearer <key>` with every call.
import { Code, ConnectError, createClient, type Client, type Interceptor, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { EmailService } from "../../gen/email/v1/email_service_pb.js";
import type { OutboxEvent } from "../../gen/email/v1/email_service_pb.js";
import { OutboxStatus } from "../../gen/email/v1/outbox_pb.js";

export { batchError, errorInfo, errorReason, fieldViolations } from "./errors.js";
export { bounceReasonName, defaultReasonClass, type ReasonClass } from "./reasons.js";

export type EmailClient = Client<typeof EmailService>;
export type Protocol = "grpc" | "grpc-web" | "connect";

export interface EmailClientOptions {
  /** e.g. "http://127.0.0.1:8080" (h2c and HTTP/1.1 share it) or "https://mail.example.com". */
  baseUrl: string;
  /** Default "grpc". */
  protocol?: Protocol;
  /** Sent as `authorization: Bearer <key>`; leave out when the server has no keys. */
  apiKey?: string;
  /** gRPC-Web and Connect only (gRPC always uses HTTP/2). Default "1.1". */
  httpVersion?: "1.1" | "2";
  /** Run after the bearer interceptor, e.g. for logging or deadlines. */
  interceptors?: Interceptor[];
}

/** A transport for any service of this server (EmailService, MailboxService, AccountService, WebhookService, TemplateService). */
export function createEmailTransport(opts: EmailClientOptions): Transport {
  const interceptors = [...(opts.apiKey === undefined ? [] : [bearer(opts.apiKey)]), ...(opts.interceptors ?? [])];
  const protocol = opts.protocol ?? "grpc";
  if (protocol === "grpc") {
    if (opts.httpVersion === "1.1") throw new Error("gRPC needs HTTP/2: use grpc-web or connect over HTTP/1.1");
    return createGrpcTransport({ baseUrl: opts.baseUrl, interceptors });
  }
  const http = { baseUrl: opts.baseUrl, httpVersion: opts.httpVersion ?? "1.1", interceptors } as const;
  return protocol === "grpc-web" ? createGrpcWebTransport(http) : createConnectTransport(http);
}

export function createEmailClient(opts: EmailClientOptions): EmailClient {
  return createClient(EmailService, createEmailTransport(opts));
}

function bearer(apiKey: string): Interceptor {
  return (next) => (req) => {
    req.header.set("authorization", `Bearer ${apiKey}`);
    return next(req);
  };
}

/**
 * The `headers` of a Send for one-click unsubscribe (RFC 8058): List-Unsubscribe with the HTTPS
 * URL (which receives the POST) and, optionally, a mailto: address, and List-Unsubscribe-Post.
 */
export function oneClickUnsubscribe(httpsUrl: string, mailto?: string): Record<string, string> {
  if (!httpsUrl.startsWith("https://")) throw new Error("one-click unsubscribe needs an https:// URL (RFC 8058)");
  const targets = [`<${httpsUrl}>`, ...(mailto === undefined ? [] : [`<mailto:${mailto}>`])];
  return { "List-Unsubscribe": targets.join(", "), "List-Unsubscribe-Post": "List-Unsubscribe=One-Click" };
}

/** Statuses a message stays in unless an operator acts: the outcome of its delivery. */
const SETTLED: ReadonlySet<OutboxStatus> = new Set([OutboxStatus.SENT, OutboxStatus.DEAD, OutboxStatus.CANCELLED, OutboxStatus.EXPIRED]);

/**
 * Watches one message until it reaches one of `until` (default SENT, DEAD, CANCELLED or EXPIRED) and
 * returns that event. The current state comes first, so a message that already settled returns
 * at once; abort with `signal` to give up.
 */
export async function waitForOutcome(
  client: EmailClient,
  outboxId: bigint,
  opts: { until?: readonly OutboxStatus[]; signal?: AbortSignal } = {},
): Promise<OutboxEvent> {
  const until = opts.until ? new Set(opts.until) : SETTLED;
  // Leaving the loop does not end the call: abort it, or its HTTP/2 stream keeps the process
  // alive until `signal` fires.
  const done = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, done.signal]) : done.signal;
  try {
    const stream = client.watchOutbox({ outboxIds: [outboxId], includeCurrent: true }, { signal });
    for await (const res of stream) {
      if (res.message.case === "event" && until.has(res.message.value.status)) return res.message.value;
    }
  } finally {
    done.abort();
  }
  throw new ConnectError("the watch ended before the message settled", Code.Unavailable);
}
