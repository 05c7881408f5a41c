// The account-level sender signal: recipients whose reports in the last 24 hours gave a reason of
// the sender class for their account ("our mail is being refused: blocked ×12, gmail.com"), by
// reason, with the latest of each. Two queries for any number of accounts, both range scans of
// idx_outbox_recipient_reason (account_id, bounce_reason, updated_at).
import type { Queryable } from "../../db/pool.js";
import { select } from "../../db/query.js";
import { reasonsOfClass, type ReasonClasses } from "../../config/reason-classes.js";
import type { BounceReason } from "../../message/bounce-reasons.js";
import { domainOf } from "./signal.js";

export const REFUSAL_WINDOW_MS = 24 * 3_600_000;

/** Per (account, reason): how many since the window's start, and the latest time. */
export const COUNT_SQL = `SELECT account_id, bounce_reason, COUNT(*) AS n, MAX(updated_at) AS latest FROM outbox_recipient
  WHERE account_id IN (?) AND bounce_reason IN (?) AND updated_at >= ? GROUP BY account_id, bounce_reason`;
/** The recipient reported at that latest time: one branch per (account, reason), joined by UNION ALL. */
export const LATEST_SQL = `(SELECT account_id, bounce_reason, address, diagnostic FROM outbox_recipient
  WHERE account_id = ? AND bounce_reason = ? AND updated_at = ? LIMIT 1)`;

export interface SenderRefusal {
  reason: BounceReason;
  count: number;
  latestDomain: string;
  latestDiagnostic: string;
  latestAt: number;
}

/** Each account's refusals since `since`, the most frequent first; accounts without any are left out. */
export async function senderRefusals(
  db: Queryable,
  accounts: readonly { id: number; reasonClasses?: ReasonClasses }[],
  since: number,
): Promise<Map<number, SenderRefusal[]>> {
  const sender = new Map(accounts.map((a) => [a.id, new Set<string>(reasonsOfClass(a, "sender"))]));
  const reasons = [...new Set([...sender.values()].flatMap((s) => [...s]))];
  const out = new Map<number, SenderRefusal[]>();
  if (accounts.length === 0 || reasons.length === 0) return out;
  const counts = await select<{ account_id: number; bounce_reason: BounceReason; n: number; latest: number }>(db, COUNT_SQL, [
    [...sender.keys()],
    reasons,
    since,
  ]);
  // A reason of the sender class for some accounts only counts for those.
  const found = counts.filter((c) => sender.get(c.account_id)?.has(c.bounce_reason));
  if (found.length === 0) return out;
  const latest = await select<{ account_id: number; bounce_reason: string; address: string; diagnostic: string }>(
    db,
    found.map(() => LATEST_SQL).join(" UNION ALL "),
    found.flatMap((c) => [c.account_id, c.bounce_reason, c.latest]),
  );
  const latestOf = new Map(latest.map((l) => [`${l.account_id}/${l.bounce_reason}`, l]));
  for (const c of found) {
    const l = latestOf.get(`${c.account_id}/${c.bounce_reason}`);
    const list = out.get(c.account_id) ?? out.set(c.account_id, []).get(c.account_id)!;
    list.push({
      reason: c.bounce_reason,
      count: Number(c.n),
      latestDomain: l ? domainOf(l.address) : "",
      latestDiagnostic: l?.diagnostic ?? "",
      latestAt: Number(c.latest),
    });
  }
  for (const list of out.values()) list.sort((a, b) => b.count - a.count || b.latestAt - a.latestAt);
  return out;
}
