// A bounce or complaint report -> the outbox row it is about: each named recipient's state (the
// latest report; a permanent one is never replaced by a delay), an event on the row's stream, and
// the suppression list. Runs in the transaction that stores the report, so it applies once.
import type { AccountConfig } from "../config.js";
import type { PoolConnection } from "../outbox/db.js";
import { appendEvents } from "../outbox/events.js";
import { RECIPIENT_EVENTS } from "../outbox/lifecycle.js";
import { jsonList } from "../outbox/rows.js";
import { EventKind, type NewEvent, type OutboxStatus } from "../outbox/types.js";
import { cleanRemoteText, secretForms } from "../sender/remote-text.js";
import { addSuppression, type SuppressionReason } from "../suppression/store.js";
import { recipientAddresses } from "../suppression/recipients.js";
import type { RecipientOutcome, Report } from "./report.js";
import { verpOutboxId } from "./verp.js";
import { select, selectOne } from "../outbox/query.js";

export interface Applied {
  outboxId: number;
  recipients: (RecipientOutcome & { updatedAt: number })[];
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

export async function applyReport(conn: PoolConnection, account: AccountConfig, messageIdDomain: string, report: Report, now: number): Promise<Applied | undefined> {
  const target = reportTarget(account, messageIdDomain, report);
  if (!target || !Number.isSafeInteger(target.id)) return undefined;
  const rows = await select<TargetRow>(conn,
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
    named = who.map((address) => ({ address, state: "complained", status: sample?.status ?? "abuse", diagnostic: sample?.diagnostic ?? "feedback report" }));
  }
  if (named.length === 0) return undefined;

  const held = await select<{ address: string; state: RecipientOutcome["state"] }>(conn,
    "SELECT address, state FROM outbox_recipient WHERE outbox_id = ? FOR UPDATE", [row.id]);
  const permanent = new Set(held.filter((h) => h.state !== "delayed").map((h) => h.address));
  const secrets = secretForms(account.smtp?.auth);
  const applied: Applied = { outboxId: row.id, recipients: [], suppressed: [] };
  const events: NewEvent[] = [];
  for (const r of named) {
    if (r.state === "delayed" && permanent.has(r.address)) continue;
    const outcome = { ...r, diagnostic: cleanRemoteText(r.diagnostic, secrets), updatedAt: now };
    await conn.query(
      `INSERT INTO outbox_recipient (outbox_id, address, account_id, state, status_code, diagnostic, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON DUPLICATE KEY UPDATE state = VALUES(state), status_code = VALUES(status_code), diagnostic = VALUES(diagnostic), updated_at = VALUES(updated_at)`,
      [row.id, r.address, account.id, r.state, r.status, outcome.diagnostic, now],
    );
    applied.recipients.push(outcome);
    events.push({
      outboxId: row.id, accountId: account.id, kind: EventKind[RECIPIENT_EVENTS[r.state]], status: row.status, retries: row.retries,
      nextAttemptAt: null, providerMessageId: null, messageId: null, error: `${r.status} ${outcome.diagnostic}`.trim(), recipient: r.address,
    });
    const reason = await suppressionReason(conn, account, r, now);
    if (reason) {
      const { created } = await addSuppression(conn, {
        accountId: account.id, address: r.address, reason, outboxId: row.id, detail: `${r.status} ${outcome.diagnostic}`.trim(), createdAt: now,
      });
      if (created) applied.suppressed.push(r.address);
    }
  }
  await appendEvents(conn, events, now);
  return applied;
}

/**
 * Hard bounces and complaints suppress at once; transient ones only when the account counts
 * them (`suppression.soft_bounce_limit` delayed messages to the address within the window).
 */
async function suppressionReason(conn: PoolConnection, account: AccountConfig, r: RecipientOutcome, now: number): Promise<SuppressionReason | undefined> {
  if (r.state === "bounced") return "hard_bounce";
  if (r.state === "complained") return "complaint";
  const soft = account.softBounces;
  if (!soft) return undefined;
  const counted = await selectOne<{ n: number }>(conn,
    "SELECT COUNT(*) AS n FROM outbox_recipient WHERE account_id = ? AND address = ? AND state = 'delayed' AND updated_at >= ?",
    [account.id, r.address, now - soft.windowMs],
  );
  return Number(counted?.n) >= soft.limit ? "soft_bounces" : undefined;
}
