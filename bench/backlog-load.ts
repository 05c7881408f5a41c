// Bulk-loads due outbox rows for the backlog benchmark: INSERT … SELECT over MariaDB's Sequence
// engine (seq_1_to_N), in chunks, so a million rows load in well under a minute. The rows are
// what enqueue would write for a small message; their creation events are left out, since the
// claim and finalize measured here never read them.
import type { Pool } from "../src/db/pool.js";

const CHUNK = 100_000;

/** Adds `count` pending rows of account 1, due in order from `dueFrom` (ms) on, one ms apart. */
export async function loadDueRows(pool: Pool, count: number, dueFrom: number, onChunk?: (loaded: number) => void): Promise<void> {
  const body = "Hello,\n\nThis is a benchmark message of ordinary size, waiting in a backlog.\n";
  for (let done = 0; done < count; done += CHUNK) {
    const n = Math.min(CHUNK, count - done);
    // The table name holds a number only; the Sequence engine has no placeholder form for it.
    await pool.query(
      `INSERT INTO outbox (account_id, kind, status, retries, next_attempt_at, send_at, from_header, to_json, cc_json,
         bcc_json, subject, body_text, created_at, updated_at)
       SELECT 1, 'send', 'pending', 0, ? + seq, ? + seq, 'Bench <bench@example.com>',
         JSON_ARRAY(CONCAT('rcpt', seq, '@example.com')), JSON_ARRAY(), JSON_ARRAY(), CONCAT('Backlog message ', seq), ?, ?, ?
       FROM seq_1_to_${Math.trunc(n)}`,
      [dueFrom + done, dueFrom + done, body, dueFrom, dueFrom],
    );
    onChunk?.(done + n);
  }
}
