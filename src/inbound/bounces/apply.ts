// A bounce or complaint report -> the outbox row it is about: each named recipient's state and
// reason (the latest report; a permanent one is never replaced by a delay), an event on the row's
// stream, and the suppression list, decided by the reason's class for the account (suppress at
// once, count toward the soft rule, or never: a sender-side refusal). Runs in the transaction that
// stores the report, so it applies once.
import type { AccountConfig } from "../../config/config.js";
import type { PoolConnection } from "../../db/pool.js";
import { appendEvents } from "../../outbox/events.js";
import { RECIPIENT_EVENTS } from "../../outbox/lifecycle.js";
import { jsonList } from "../../outbox/rows.js";
import { EventKind, type NewEvent, type OutboxStatus } from "../../outbox/types.js";
import { cleanRemoteText, secretForms } from "../../delivery/remote-text.js";
import { addSuppression, type SuppressionReason } from "../../outbox/suppression.js";
import { recipientAddresses } from "../../outbox/suppressed-recipients.js";
import { reasonsOfClass } from "../../config/reason-classes.js";
import { reportClass } from "./report-class.js";
import type { ReasonClass } from "../../message/bounce-reasons.js";
import type { RecipientOutcome, Report } from "./report.js";
import { verpOutboxId } from "../../message/verp.js";
import { select, selectOne } from "../../db/query.js";

export interface AppliedRecipient extends RecipientOutcome {
  updatedAt: number;
  /** The reason's class for the account when it was applied. */
  reasonClass: ReasonClass;
}

export interface Applied {
  outboxId: number;
  recipients: AppliedRecipient[];
  /** Addresses the report put on the suppression list. */
  suppressed: string[];
}

/** What a report is matched by: its VERP address, else one of our Message-IDs in the returned headers. */
export function reportTarget(account: AccountConfig, messageIdDomain: string, report: Report): { id: number; seq?: number } | undefined {
  if (account.verp) {
    const id = verpOutboxId(report.deliveredTo, account.id, account.verp);
    if (id === "forged") return undefined;
    if (id !== undefined) return { id };
  }
  for (const value of report.originalMessageIds) {
    const m = /^<outbox-(\d{1,20})-(\d{1,10})@([^>]+)>$/.exec(value);
    if (m && m[3]!.toLowerCase() === messageIdDomain.toLowerCase()) return { id: Number(m[1]), seq: Number(m[2]) };
  }
  return undefined;
}

interface TargetRow {
  id: number;
  account_id: number;
  status: OutboxStatus;
  retries: number;
  message_seq: number;
  to_json: unknown;
  cc_json: unknown;
  bcc_json: unknown;
}

export async function applyReport(
  conn: PoolConnection,
  account: AccountConfig,
  messageIdDomain: string,
  report: Report,
  now: number,
): Promise<Applied | undefined> {
  const target = reportTarget(account, messageIdDomain, report);
  if (!target || !Number.isSafeInteger(target.id)) return undefined;
  const rows = await select<TargetRow>(
    conn,
    "SELECT id, account_id, status, retries, message_seq, to_json, cc_json, bcc_json FROM outbox WHERE id = ? FOR UPDATE",
    [target.id],
  );
  const row = rows[0];
  // Another account's row, or a Message-ID this row never carried: not ours to change.
  if (!row || row.account_id !== account.id || (target.seq !== undefined && target.seq > row.message_seq)) return undefined;
  const theirs = new Set(recipientAddresses({ to: jsonList(row.to_json), cc: jsonList(row.cc_json), bcc: jsonList(row.bcc_json) }));
  let named = report.recipients.filter((r) => theirs.has(r.address));
  if (named.length === 0 && report.kind === "complaint") {
    // A redacted complaint names nobody: the original's To, or the row's only recipient.
    const guess = report.originalRecipients.filter((a) => theirs.has(a));
    const who = guess.length > 0 ? guess : theirs.size === 1 ? [...theirs] : [];
    const sample = report.recipients[0];
    named = who.map((address) => ({
      address,
      state: "complained",
      status: sample?.status ?? "abuse",
      diagnostic: sample?.diagnostic ?? "feedback report",
      reason: "complaint",
      replyCode: "",
      feedbackType: sample?.feedbackType,
    }));
  }
  if (named.length === 0) return undefined;

  const held = await select<{ address: string; state: RecipientOutcome["state"] }>(
    conn,
    "SELECT address, state FROM outbox_recipient WHERE outbox_id = ? FOR UPDATE",
    [row.id],
  );
  const permanent = new Set(held.filter((h) => h.state !== "delayed").map((h) => h.address));
  // A report may quote any of the account's relays' exchanges.
  const secrets = account.relays.flatMap((relay) => secretForms(relay.smtp?.auth));
  const applied: Applied = { outboxId: row.id, recipients: [], suppressed: [] };
  const events: NewEvent[] = [];
  for (const r of named) {
    if (r.state === "delayed" && permanent.has(r.address)) continue;
    const outcome: AppliedRecipient = {
      ...r,
      diagnostic: cleanRemoteText(r.diagnostic, secrets),
      updatedAt: now,
      reasonClass: reportClass(account, r),
    };
    await conn.query(
      `INSERT INTO outbox_recipient (outbox_id, address, account_id, state, status_code, diagnostic, bounce_reason, reply_code, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON DUPLICATE KEY UPDATE state = VALUES(state), status_code = VALUES(status_code), diagnostic = VALUES(diagnostic),
         bounce_reason = VALUES(bounce_reason), reply_code = VALUES(reply_code), updated_at = VALUES(updated_at)`,
      [row.id, r.address, account.id, r.state, r.status, outcome.diagnostic, r.reason, r.replyCode.slice(0, 3), now],
    );
    applied.recipients.push(outcome);
    const detail = `${r.status} ${outcome.diagnostic}`.trim();
    events.push({
      outboxId: row.id,
      accountId: account.id,
      kind: EventKind[RECIPIENT_EVENTS[r.state]],
      status: row.status,
      retries: row.retries,
      nextAttemptAt: null,
      providerMessageId: null,
      messageId: null,
      error: detail,
      recipient: r.address,
      bounceReason: r.reason,
    });
    const reason = await suppressionReason(conn, account, outcome, now);
    if (reason) {
      const { created } = await addSuppression(conn, {
        accountId: account.id,
        address: r.address,
        reason,
        bounceReason: r.reason,
        outboxId: row.id,
        detail,
        createdAt: now,
      });
      if (created) applied.suppressed.push(r.address);
    }
  }
  await appendEvents(conn, events, now);
  return applied;
}

/**
 * By the class the report puts the recipient in (report-class.ts), never by the status's first
 * digit: `suppress` lists the address at once; `soft` only when the account counts soft bounces and
 * this is its `suppression.soft_bounce_limit`th soft report within the window (a soft reason, or an
 * address-level one the report did not make sure of); `sender` never — the recipient is fine, our
 * mail was refused (the account-level signal says so).
 */
async function suppressionReason(
  conn: PoolConnection,
  account: AccountConfig,
  r: AppliedRecipient,
  now: number,
): Promise<SuppressionReason | undefined> {
  if (r.reasonClass === "suppress") return r.reason === "complaint" ? "complaint" : "hard_bounce";
  const soft = account.softBounces;
  if (r.reasonClass !== "soft" || !soft) return undefined;
  // idx_outbox_recipient_address: the (account, address) range, a few rows per address.
  // COUNT(*) without GROUP BY: always one row.
  const counted = (await selectOne<{ n: number }>(
    conn,
    "SELECT COUNT(*) AS n FROM outbox_recipient WHERE account_id = ? AND address = ? AND bounce_reason IN (?) AND updated_at >= ?",
    [
      account.id,
      r.address,
      [...reasonsOfClass(account, "soft"), ...reasonsOfClass(account, "suppress").filter((x) => x !== "complaint")],
      now - soft.windowMs,
    ],
  ))!;
  return Number(counted.n) >= soft.limit ? "soft_bounces" : undefined;
}
