// Reads a delivered message's subject, text part and HTML part as two independent parsers do:
// mailparser, and Python's standard `email` package (policy.default) run by /usr/bin/python3.
import { execFile } from "node:child_process";
import { simpleParser } from "mailparser";

export interface Parts {
  subject: string;
  text: string;
  html: string;
}

const PYTHON = `
import sys, json, email
from email import policy
msg = email.message_from_bytes(sys.stdin.buffer.read(), policy=policy.default)
def part(kind):
    p = msg.get_body(preferencelist=(kind,))
    return "" if p is None else p.get_content()
print(json.dumps({"subject": str(msg["Subject"]), "text": part("plain"), "html": part("html"),
                  "defects": [type(d).__name__ for d in msg.defects]}))
`;

/** Line ends as "\n", and no trailing line end (the parsers differ on the last one). */
const normal = (s: string) => s.replace(/\r\n/g, "\n").replace(/\n+$/, "");

export function partsWithPython(raw: Buffer): Promise<Parts & { defects: string[] }> {
  return new Promise((resolve, reject) => {
    const child = execFile("/usr/bin/python3", ["-c", PYTHON], { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`python3 failed: ${stderr || err.message}`));
      const p = JSON.parse(stdout) as Parts & { defects: string[] };
      resolve({ subject: p.subject, text: normal(p.text), html: normal(p.html), defects: p.defects });
    });
    child.stdin!.end(raw);
  });
}

export async function partsWithMailparser(raw: Buffer): Promise<Parts> {
  const m = await simpleParser(raw);
  return { subject: m.subject ?? "", text: normal(m.text ?? ""), html: normal(typeof m.html === "string" ? m.html : "") };
}
