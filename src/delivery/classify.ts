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
  /** The SMTP command the failure answered (nodemailer: "CONN" for the connection and greeting). */
  command?: string;
}

const NETWORK_CODES = new Set(["ECONNECTION", "ESOCKET", "EDNS", "ECONNREFUSED", "ECONNRESET", "EPIPE", "ETLS", "EPROTOCOL"]);

/** Commands before the first recipient: a refusal there is the relay's, not the message's. */
const RELAY_COMMANDS = /^(CONN|EHLO|HELO|LHLO|STARTTLS|AUTH\b.*|MAIL FROM)$/;

/**
 * A failure of the relay's own, which another relay of the account need not share: it could not
 * be reached or timed out, TLS or AUTH failed, it refused before the first recipient (greeting,
 * EHLO, MAIL FROM), or it closed the channel (421). A recipient's or the message's refusal is not
 * (another relay would get the same answer), nor a break after the whole message went out (this
 * relay may have kept it).
 */
function isRelayLevel(e: SmtpLikeError, network: boolean): boolean {
  if (e.messageHandedOver === true) return false;
  if (network || e.code === "EAUTH" || e.responseCode === 421) return true;
  return typeof e.responseCode === "number" && RELAY_COMMANDS.test(e.command ?? "");
}

/**
 * 5xx replies are permanent (retrying will not change the answer); 4xx replies, connection
 * errors and timeouts are transient. Authentication failures are transient too: the message is
 * fine, the account's credentials are not, and an operator fixing them should not lose the mail.
 */
export function classifySmtpError(err: unknown): Extract<AttemptOutcome, { kind: "failed" }> {
  const e = (typeof err === "object" && err !== null ? err : { message: String(err) }) as SmtpLikeError;
  const outcome = classify(e);
  return isRelayLevel(e, outcome.errorClass === "NETWORK" || outcome.errorClass === "TIMEOUT") ? { ...outcome, relayLevel: true } : outcome;
}

function classify(e: SmtpLikeError): Extract<AttemptOutcome, { kind: "failed" }> {
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
