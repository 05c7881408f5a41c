// The seed's own example, subject 你好 and body 消息正文。, arrives intact: the Subject header is
// RFC 2047-encoded on the wire, and two independent parsers (mailparser, Python's email) read
// back exactly the text that was sent.
import { spawn } from "node:child_process";
import { afterAll, beforeAll, expect, test } from "vitest";
import { OutboxStatus } from "../../gen/email/v1/outbox_pb.js";
import { startSmtpSink, type SmtpSink } from "../helpers/smtp-sink.js";
import { sinkAccount, startTestApp, type TestApp } from "../helpers/app.js";
import { emailClient } from "../helpers/clients.js";

let sink: SmtpSink;
let t: TestApp;

beforeAll(async () => {
  sink = await startSmtpSink();
  t = await startTestApp({ label: "api_seed_example", json: { accounts: [sinkAccount(1, sink.port)] } });
});
afterAll(async () => {
  await t?.close();
  await sink?.close();
});

const PARSE = `
import sys, json, email, email.policy
m = email.message_from_bytes(sys.stdin.buffer.read(), policy=email.policy.default)
print(json.dumps({"subject": str(m["subject"]), "body": m.get_body(("plain",)).get_content()}))
`;

/** Python's stdlib email parser over the raw bytes the SMTP server received. */
function pythonParse(raw: Buffer): Promise<{ subject: string; body: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("/usr/bin/python3", ["-c", PARSE]);
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0 ? resolve(JSON.parse(out) as { subject: string; body: string }) : reject(new Error(`python3 exited ${code}`)),
    );
    child.stdin.end(raw);
  });
}

test("subject 你好 and body 消息正文。 arrive intact, the Subject RFC 2047-encoded", async () => {
  const res = await emailClient(t.url).send({
    accountId: 1,
    to: ["bob@example.com"],
    subject: "你好",
    bodyText: "消息正文。",
    waitForAttempt: true,
  });
  expect(res.outbox?.status).toBe(OutboxStatus.SENT);
  expect(res.outbox?.subject).toBe("你好");
  const [msg] = await sink.waitFor(1);

  const rawSubject = msg!.header("subject")!;
  expect(rawSubject).toMatch(/^=\?UTF-8\?[BQ]\?/i);
  expect(rawSubject).not.toContain("你");
  // Every header line is 7-bit on the wire.
  const head = msg!.raw.subarray(0, msg!.raw.indexOf("\r\n\r\n"));
  expect([...head].every((b) => b < 0x80)).toBe(true);

  expect(msg!.parsed.subject).toBe("你好");
  expect(msg!.parsed.text?.trim()).toBe("消息正文。");
  const py = await pythonParse(msg!.raw);
  expect(py.subject).toBe("你好");
  expect(py.body.trim()).toBe("消息正文。");
});
