// Attachment bytes, stored with their outbox row. MariaDB refuses any packet over its
// max_allowed_packet (16 MiB by default), so a file is cut into chunks written as separate
// statements and joined again when a sender loads its claim. Deleting the outbox row deletes
// both tables' rows (ON DELETE CASCADE).
import type { Pool, PoolConnection } from "../db/pool.js";
import type { AttachmentInfo, MessageAttachment } from "./types.js";
import { select } from "../db/query.js";

/** Far below the default 16 MiB packet limit, and a small share of InnoDB's redo log per row. */
export const CHUNK_BYTES = 4 * 1024 * 1024;

/** Inside the enqueue transaction, after the outbox row. */
export async function insertAttachments(conn: PoolConnection, outboxId: number, files: readonly MessageAttachment[]): Promise<void> {
  if (files.length === 0) return;
  await conn.query("INSERT INTO outbox_attachment (outbox_id, position, filename, content_type, content_id, size_bytes) VALUES ?", [
    files.map((f, position) => [outboxId, position, f.filename, f.contentType, f.contentId, f.content.length]),
  ]);
  for (const [position, f] of files.entries()) {
    for (let seq = 0; seq * CHUNK_BYTES < f.content.length; seq++) {
      // execute: the binary protocol sends the bytes as they are (query would send them as hex, twice the size).
      await conn.execute("INSERT INTO outbox_attachment_chunk (outbox_id, position, seq, data) VALUES (?, ?, ?, ?)", [
        outboxId,
        position,
        seq,
        f.content.subarray(seq * CHUNK_BYTES, (seq + 1) * CHUNK_BYTES),
      ]);
    }
  }
}

interface AttachmentDbRow {
  outbox_id: number;
  position: number;
  filename: string;
  content_type: string;
  content_id: string | null;
  size_bytes: number;
}

interface ChunkDbRow {
  outbox_id: number;
  position: number;
  data: Buffer;
}

/** A row's attached files without their bytes, in their order. */
export async function listAttachmentInfo(pool: Pool, outboxId: number): Promise<AttachmentInfo[]> {
  const files = await select<AttachmentDbRow>(
    pool,
    "SELECT filename, content_type, content_id, size_bytes FROM outbox_attachment WHERE outbox_id = ? ORDER BY position",
    [outboxId],
  );
  return files.map((f) => ({
    filename: f.filename,
    contentType: f.content_type,
    contentId: f.content_id,
    sizeBytes: Number(f.size_bytes),
  }));
}

/** Stored bytes are missing: no retry can send the message whole. */
export class AttachmentIncompleteError extends Error {
  override name = "AttachmentIncompleteError";
}

/** The attachments of each row, in their order, with their bytes joined again. */
export async function loadAttachments(pool: Pool, outboxIds: readonly number[]): Promise<Map<number, MessageAttachment[]>> {
  const byRow = new Map<number, MessageAttachment[]>();
  if (outboxIds.length === 0) return byRow;
  const files = await select<AttachmentDbRow>(
    pool,
    `SELECT outbox_id, position, filename, content_type, content_id, size_bytes FROM outbox_attachment
     WHERE outbox_id IN (?) ORDER BY outbox_id, position`,
    [outboxIds],
  );
  if (files.length === 0) return byRow;
  const chunks = await select<ChunkDbRow>(
    pool,
    "SELECT outbox_id, position, data FROM outbox_attachment_chunk WHERE outbox_id IN (?) ORDER BY outbox_id, position, seq",
    [[...new Set(files.map((f) => f.outbox_id))]],
  );
  const parts = new Map<string, Buffer[]>();
  for (const c of chunks) {
    const key = `${c.outbox_id}/${c.position}`;
    const list = parts.get(key);
    if (list) list.push(c.data);
    else parts.set(key, [c.data]);
  }
  for (const f of files) {
    const content = Buffer.concat(parts.get(`${f.outbox_id}/${f.position}`) ?? []);
    // A missing chunk must never turn into a shorter file sent as if it were whole.
    if (content.length !== f.size_bytes)
      throw new AttachmentIncompleteError(`attachment ${f.position} of outbox ${f.outbox_id} is incomplete`);
    const list = byRow.get(f.outbox_id) ?? [];
    list.push({ filename: f.filename, contentType: f.content_type, contentId: f.content_id, content });
    byRow.set(f.outbox_id, list);
  }
  return byRow;
}
