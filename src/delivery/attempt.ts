// One attempt at a claimed row: its attachments read from the outbox, the message composed and
// handed to a transport, and the result classified. It knows no lane, lease or queue.
import type { AccountConfig } from "../config/config.js";
import { verpAddress } from "../message/verp.js";
import { redactAddressesIn, type Logger } from "../lib/log.js";
import { parseMailbox } from "../message/address.js";
import { ownAddress } from "../message/sender-identity.js";
import type { SenderMetrics } from "../metrics/metrics.js";
import { AttachmentIncompleteError, loadAttachments } from "../outbox/attachments.js";
import type { Pool } from "../db/pool.js";
import type { AttemptOutcome, ClaimedMessage, MessageAttachment } from "../outbox/types.js";
import { classifySmtpError } from "./classify.js";
import { mailOptions, recipients } from "./compose.js";
import { attemptHead, composeBody } from "./mime.js";
import type { RawMail } from "./pool-send.js";
import { SimulatedFailure } from "./simulated-failure.js";
import { isSlowDownReply } from "./slow-down.js";
import type { AccountTransport } from "./transports.js";

export interface AttemptContext {
  pool: Pool;
  log: Logger;
  metrics?: SenderMetrics;
}

/** The log fields of every line about one attempt. */
export function attemptFields(claim: ClaimedMessage) {
  return { outbox_id: claim.id, account_id: claim.accountId, attempt: claim.retries + 1, message_id: claim.messageId };
}

/**
 * The attempt's outcome; undefined when it never reached the SMTP server through no fault of its
 * own. `relay` names the account's relay whose transport it is. `onSlowDown` hears of a reply that
 * asks the whole account to slow down.
 */
export async function attempt(
  ctx: AttemptContext,
  claim: ClaimedMessage,
  account: AccountConfig,
  transport: AccountTransport,
  relay: string,
  onSlowDown: (errorClass: string) => void,
): Promise<AttemptOutcome | undefined> {
  const { log, metrics } = ctx;
  // Attachment bytes are read from the outbox now, not at claim time: only attempts under way
  // hold them in memory. A database that fails this read is no fault of the SMTP server's, so it
  // costs no attempt (and does not move the Message-ID on); bytes that are gone make it DEAD.
  let files: MessageAttachment[] = [];
  try {
    // A row stored with its composed bytes has no attachments (mime.ts).
    if (claim.hasAttachments && !claim.mime) files = (await loadAttachments(ctx.pool, [claim.id])).get(claim.id) ?? [];
  } catch (err) {
    if (err instanceof AttachmentIncompleteError)
      return { kind: "failed", error: err.message, errorClass: "ATTACHMENT_INCOMPLETE", permanent: true };
    log.warn({ ...attemptFields(claim), err: (err as Error).message }, "could not read the attachments; claim handed back");
    return undefined;
  }
  const started = Date.now();
  try {
    const envelopeFrom = account.verp ? verpAddress(account.id, claim.id, account.verp) : ownAddress(account.from);
    const providerMessageId = await transport.send(attemptMessage(claim, files, envelopeFrom));
    metrics?.attempted(claim.accountId, "sent", (Date.now() - started) / 1000);
    // Per-attempt success is debug: at volume an info line per message costs more than it tells;
    // the outcome is in the row, its events and the metrics.
    log.debug({ ...attemptFields(claim), relay, ms: Date.now() - started }, "sent");
    return { kind: "sent", providerMessageId };
  } catch (err) {
    // A simulated failure reached no server: nothing to time, log or slow down for.
    if (err instanceof SimulatedFailure) return err.outcome;
    const outcome = classifySmtpError(err);
    metrics?.attempted(claim.accountId, "failed", (Date.now() - started) / 1000);
    log.warn(
      {
        ...attemptFields(claim),
        relay,
        error_class: outcome.errorClass,
        relay_failed: outcome.relayLevel === true,
        error: redactAddressesIn(outcome.error),
      },
      "attempt failed",
    );
    if (isSlowDownReply(err)) onSlowDown(outcome.errorClass);
    return outcome;
  }
}

/**
 * The attempt's message: the row's bytes as composed when it was accepted (or now, for a row
 * stored without them), behind the head only this attempt has. `envelopeFrom`: the MAIL FROM
 * address (the account's own, or a VERP bounce address).
 */
function attemptMessage(claim: ClaimedMessage, files: readonly MessageAttachment[], envelopeFrom: string | undefined): RawMail {
  const body = claim.mime ?? composeBody(mailOptions(claim, files));
  const head = Buffer.from(attemptHead(claim.messageId, new Date(claim.createdAt), claim.id), "latin1");
  const { to, cc, bcc } = recipients(claim);
  // Envelope addresses are the bare addresses (domains in their ASCII form), each once.
  const envelopeTo = [...new Set([...to, ...cc, ...bcc].map((r) => parseMailbox(r).address))];
  return {
    messageId: claim.messageId,
    // Without an account address of its own, the address of the message's From.
    envelope: { from: envelopeFrom ?? parseMailbox(claim.from).address, to: envelopeTo },
    raw: Buffer.concat([head, body]),
  };
}
