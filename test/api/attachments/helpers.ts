// Shared by the attachment tests: what the attachment tables hold, digests, and a second MIME
// parser (Python's stdlib `email`) to read messages back independently of mailparser.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import mysql from "mysql2/promise";

export const sha256 = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex");

/** Rows in outbox, outbox_event and both attachment tables. */
export async function rowCounts(databaseUrl: string): Promise<Record<string, number>> {
  const conn = await mysql.createConnection({ uri: databaseUrl });
  try {
    const [rows] = (await conn.query(
      `SELECT (SELECT COUNT(*) FROM outbox) AS outbox, (SELECT COUNT(*) FROM outbox_event) AS events,
         (SELECT COUNT(*) FROM outbox_attachment) AS attachments, (SELECT COUNT(*) FROM outbox_attachment_chunk) AS chunks`,
    )) as unknown as [Record<string, number>[]];
    return Object.fromEntries(Object.entries(rows[0]!).map(([k, v]) => [k, Number(v)]));
  } finally {
    await conn.end();
  }
}

/** Runs one statement against a test database (setup and checks only). */
export async function sql<T = unknown>(databaseUrl: string, statement: string, args: unknown[] = []): Promise<T> {
  const conn = await mysql.createConnection({ uri: databaseUrl });
  try {
    const [result] = await conn.query(statement, args);
    return result as T;
  } finally {
    await conn.end();
  }
}

export interface PythonPart {
  filename: string | null;
  contentType: string;
  disposition: string | null;
  sha256: string;
}

const PYTHON = `
import email, hashlib, json, sys
from email import policy
m = email.message_from_binary_file(sys.stdin.buffer, policy=policy.default)
print(json.dumps({
  "type": m.get_content_type(),
  "structure": [p.get_content_type() for p in m.walk()],
  "attachments": [{
    "filename": p.get_filename(),
    "contentType": p.get_content_type(),
    "disposition": p.get_content_disposition(),
    "sha256": hashlib.sha256(p.get_payload(decode=True)).hexdigest(),
  } for p in m.iter_attachments()],
}))
`;

/** The message as Python's email parser reads it: its structure and its attachments. */
export function parseWithPython(raw: Buffer): Promise<{ type: string; structure: string[]; attachments: PythonPart[] }> {
  return new Promise((resolve, reject) => {
    const child = execFile("/usr/bin/python3", ["-c", PYTHON], { maxBuffer: 1 << 20 }, (err, stdout) => {
      if (err) reject(err);
      else resolve(JSON.parse(stdout) as { type: string; structure: string[]; attachments: PythonPart[] });
    });
    child.stdin!.end(raw);
  });
}
