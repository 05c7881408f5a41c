// Turning an SMTP/nodemailer error into a stable class and a transient/permanent verdict.
import type { AttemptOutcome } from "../outbox/types.js";

/** Set on a send's error when the failure came after the whole message was written out. */
export interface MessageHandedOver {
  messageHandedOver?: boolean;
}

interface SmtpLikeError extends MessageHandedOver {
  message?: string;
  code?: string;
  responseCode?: number;
  response?: string;
}

const NETWORK_CODES = new Set(["ECONNECTION", "ESOCKET", "EDNS", "ECONNREFUSED", "ECONNRESET", "EPIPE", "ETLS", "EPROTOCOL"]);

/**
 * 5xx replies are permanent (retrying will not change the answer); 4xx replies, connection
 * errors and timeouts are transient. Authentication failures are transient too: the message is
 * fine, the account's credentials are not, and an operator fixing them should not lose the mail.
 */
export function classifySmtpError(err: unknown): Extract<AttemptOutcome, { kind: "failed" }> {
  const e = (typeof err === "object" && err !== null ? err : { message: String(err) }) as SmtpLikeError;
  const error = describe(e);
  if (e.code === "EAUTH") return { kind: "failed", error, errorClass: "AUTH", permanent: false };
  if (typeof e.responseCode === "number" && e.responseCode >= 500) {
    return { kind: "failed", error, errorClass: "SMTP_PERMANENT", permanent: true };
  }
  if (typeof e.responseCode === "number" && e.responseCode >= 400) {
    return { kind: "failed", error, errorClass: "SMTP_TRANSIENT", permanent: false };
  }
  // No reply after the whole message went out: the server may have kept it.
  const ambiguous = e.messageHandedOver === true;
  const unknown = ambiguous ? `${error} (after the whole message was sent: the server may have kept it)` : error;
  if (e.code === "ETIMEDOUT" || /timeout/i.test(e.message ?? "")) {
    return { kind: "failed", error: unknown, errorClass: "TIMEOUT", permanent: false, ambiguous };
  }
  if (e.code && NETWORK_CODES.has(e.code)) return { kind: "failed", error: unknown, errorClass: "NETWORK", permanent: false, ambiguous };
  if (e.code === "EENVELOPE" || e.code === "EMESSAGE") {
    return { kind: "failed", error, errorClass: "MESSAGE_REJECTED", permanent: true };
  }
  return { kind: "failed", error, errorClass: "UNKNOWN", permanent: false };
}

/** The server's own reply when there is one, else the client's message; bounded in length. */
function describe(e: SmtpLikeError): string {
  const text = (e.response || e.message || "unknown error").replace(/\s+/g, " ").trim();
  return text.length > 1000 ? `${text.slice(0, 1000)}…` : text;
}

/** The reference's provider id: "smtp-" + the server's final reply text, without its code. */
export function providerMessageId(response: string | undefined): string {
  const text = (response ?? "")
    .replace(/^250[ -]/, "")
    .replace(/\s+/g, " ")
    .trim();
  return `smtp-${text || "accepted"}`.slice(0, 1000);
}
