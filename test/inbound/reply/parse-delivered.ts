// Reads a delivered message the way two independent parsers do: mailparser, and Python's
// standard `email` package (policy.default) run by /usr/bin/python3.
import { execFile } from "node:child_process";
import { simpleParser, type AddressObject } from "mailparser";
import type { ReplyHeaders } from "../../../src/inbound/mailbox/reply.js";

/** The headers a reply is made of, as a parser read them, plus the message's own id. */
export interface Delivered extends ReplyHeaders {
  messageId: string;
}

const PYTHON = `
import sys, json, email
from email import policy
from email.utils import getaddresses
msg = email.message_from_bytes(sys.stdin.buffer.read(), policy=policy.default)
def text(name):
    v = msg.get(name)
    return "" if v is None else str(v)
def addrs(name):
    return [a.lower() for _, a in getaddresses(msg.get_all(name, []))]
print(json.dumps({
    "to": addrs("To"), "cc": addrs("Cc"), "subject": text("Subject"),
    "inReplyTo": text("In-Reply-To").strip(), "references": text("References").split(),
    "messageId": text("Message-ID").strip(),
    "defects": [type(d).__name__ for d in msg.defects],
    "headerCount": {k.lower(): len(msg.get_all(k)) for k in set(msg.keys())},
}))
`;

export interface PythonParsed extends Delivered {
  defects: string[];
  headerCount: Record<string, number>;
}

export function parseWithPython(raw: Buffer): Promise<PythonParsed> {
  return new Promise((resolve, reject) => {
    const child = execFile("/usr/bin/python3", ["-c", PYTHON], { maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`python3 failed: ${stderr || err.message}`));
      else resolve(JSON.parse(stdout) as PythonParsed);
    });
    child.stdin!.end(raw);
  });
}

export async function parseWithMailparser(raw: Buffer): Promise<Delivered> {
  const m = await simpleParser(raw);
  const addrs = (h: AddressObject | AddressObject[] | undefined) =>
    [h ?? []]
      .flat()
      .flatMap((o) => o.value)
      .map((a) => (a.address ?? "").toLowerCase());
  return {
    to: addrs(m.to),
    cc: addrs(m.cc),
    subject: m.subject ?? "",
    inReplyTo: m.inReplyTo ?? "",
    references: [m.references ?? []].flat(),
    messageId: m.messageId ?? "",
  };
}

/** Both parsers, which must agree on every field. */
export async function parseBoth(raw: Buffer): Promise<{ python: PythonParsed; mailparser: Delivered }> {
  const [python, mailparser] = await Promise.all([parseWithPython(raw), parseWithMailparser(raw)]);
  return { python, mailparser };
}

/** The physical lines of the header section (folding kept). */
export function headerLines(raw: Buffer): string[] {
  const text = raw.toString("latin1");
  return text.slice(0, text.indexOf("\r\n\r\n")).split("\r\n");
}
