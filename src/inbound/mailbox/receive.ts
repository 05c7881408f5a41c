// One received message, from IngestMessage or the account's IMAP mailbox: stored for Reply, and,
// when it is a bounce or complaint report about one of the account's rows, applied to that row in
// the same transaction — so a report stored once is applied once, and never lost. What it changed
// is signalled (metric, sender-side warning) only after the commit.
import type { AccountConfig } from "../../config/config.js";
import { applyReport, type Applied } from "../bounces/apply.js";
import { readReport } from "../bounces/report.js";
import { signalReport, type ReportSignals } from "../bounces/signal.js";
import { inTransaction, type Pool } from "../../db/pool.js";
import type { Fence } from "../../db/fleet-lease.js";
import { insertMessage, type MailMessage } from "../../outbox/messages.js";
import { parseInbound } from "./ingest.js";

export interface Received {
  message: MailMessage;
  created: boolean;
  report?: Applied;
}

/**
 * Throws IngestError for what cannot be stored. `fence` (IMAP ingest's lease) runs first in the
 * transaction: an instance whose lease moved on stores nothing.
 */
export async function receiveMessage(
  pool: Pool,
  account: AccountConfig,
  messageIdDomain: string,
  raw: Buffer,
  now: number,
  signals: ReportSignals,
  fence?: Fence,
): Promise<Received> {
  const parsed = await parseInbound(account.id, raw);
  const report = await readReport(raw);
  const received = await inTransaction(pool, async (conn): Promise<Received> => {
    await fence?.(conn);
    const { message, created } = await insertMessage(conn, parsed, now);
    if (!created || !report) return { message, created };
    return { message, created, report: await applyReport(conn, account, messageIdDomain, report, now) };
  });
  if (received.report) signalReport(signals, account.id, received.report);
  return received;
}
