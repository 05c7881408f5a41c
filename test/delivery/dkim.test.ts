// DKIM end to end: messages with attachments and a non-ASCII subject, signed by the service with
// keys made here (none is committed), verified from the bytes the real SMTP sink received by
// Debian's dkimpy (python3-dkim), which is independent of nodemailer's signer; the public key is
// handed to it as the TXT record its DNS lookup would return.
import { execFile } from "node:child_process";
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { OutboxStatus } from "../../gen/email/v1/outbox_pb.js";
import { emailClient, type EmailClient } from "../helpers/clients.js";
import { sinkAccount, startTestApp, type TestApp } from "../helpers/app.js";
import { startSmtpSink, type ReceivedMessage, type SmtpSink } from "../helpers/smtp-sink.js";

/** Verifies stdin's message; argv: the TXT record and the name it answers for. Prints JSON. */
const VERIFY = `
import json, sys, dkim
record, expected = sys.argv[1].encode(), sys.argv[2]
asked = []
def dns(name, timeout=5):
    asked.append(name.decode())
    return record if name.decode().rstrip(".") == expected else None
ok = dkim.verify(sys.stdin.buffer.read(), dnsfunc=dns)
print(json.dumps({"ok": bool(ok), "asked": asked}))
`;

function dkimpy(raw: Buffer, publicKey: KeyObject, name: string): Promise<{ ok: boolean; asked: string[] }> {
  const record = `v=DKIM1; k=rsa; p=${publicKey.export({ type: "spki", format: "der" }).toString("base64")}`;
  return new Promise((resolve, reject) => {
    const child = execFile("/usr/bin/python3", ["-c", VERIFY, record, name], (err, stdout, stderr) => {
      if (err) reject(new Error(`dkimpy failed: ${stderr}`));
      else resolve(JSON.parse(stdout) as { ok: boolean; asked: string[] });
    });
    child.stdin!.end(raw);
  });
}

const SUBJECT = "Grüße aus Köln – 東京の報告書 📎 (Q3)";
const rsa = () => generateKeyPairSync("rsa", { modulusLength: 2048 });
const fileKey = rsa();
const envKey = rsa();
let dir: string;
let sink: SmtpSink;
let t: TestApp;
let client: EmailClient;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "dkim-"));
  const keyFile = path.join(dir, "mail2026.pem");
  writeFileSync(keyFile, fileKey.privateKey.export({ type: "pkcs1", format: "pem" }), { mode: 0o600 });
  sink = await startSmtpSink();
  t = await startTestApp({
    label: "dkim",
    env: { DKIM_KEY: envKey.privateKey.export({ type: "pkcs8", format: "pem" }).toString() },
    json: {
      message_id_domain: "mail.test",
      accounts: [
        { ...sinkAccount(1, sink.port), dkim: { domain: "example.com", selector: "mail2026", private_key_file: keyFile } },
        { ...sinkAccount(2, sink.port), dkim: { domain: "Example.COM", selector: "s2.eu", private_key_env: "DKIM_KEY" } },
      ],
    },
  });
  client = emailClient(t.url);
});
afterAll(async () => {
  await t?.close();
  await sink?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function deliver(accountId: number): Promise<ReceivedMessage> {
  const pdf = Buffer.concat([Buffer.from("%PDF-1.7\n"), Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 37) % 256))]);
  const { outbox } = await client.send({
    accountId,
    to: ["Zoë Ärger <zoe@example.org>"],
    subject: SUBJECT,
    bodyText: "Hallo,\nanbei der Bericht.\n.\nA line with only a dot above, and trailing spaces   \n",
    bodyHtml: "<p>Hallo, anbei der <b>Bericht</b> – 東京</p>",
    attachments: [
      { filename: "bericht-köln.pdf", contentType: "application/pdf", content: pdf },
      { filename: "notes.txt", contentType: "text/plain", content: Buffer.from("über\r\nline two\n") },
    ],
    waitForAttempt: true,
  });
  expect(outbox?.status).toBe(OutboxStatus.SENT);
  const m = sink.messages.find((x) => x.header("x-outbox-id") === String(outbox!.outboxId));
  expect(m).toBeDefined();
  return m!;
}

test("a message with attachments and a non-ASCII subject verifies with the key from private_key_file", async () => {
  const m = await deliver(1);
  expect(m.parsed.subject).toBe(SUBJECT);
  expect(m.parsed.attachments.map((a) => a.filename)).toEqual(["bericht-köln.pdf", "notes.txt"]);
  const signature = m.header("dkim-signature")!;
  expect(signature).toMatch(/a=rsa-sha256/);
  expect(signature).toMatch(/d=example\.com/);
  expect(signature).toMatch(/s=mail2026/);
  expect(signature.replace(/\s+/g, "")).toMatch(/h=from:subject:date:message-id:to:mime-version:content-type/);

  const verdict = await dkimpy(m.raw, fileKey.publicKey, "mail2026._domainkey.example.com");
  expect(verdict).toEqual({ ok: true, asked: ["mail2026._domainkey.example.com."] });

  // The verifier does check: one changed body byte, or another key, fails it.
  const tampered = Buffer.from(m.raw);
  expect(tampered.indexOf("anbei")).toBeGreaterThan(tampered.indexOf("\r\n\r\n"));
  tampered[tampered.indexOf("anbei")] = "A".charCodeAt(0);
  expect((await dkimpy(tampered, fileKey.publicKey, "mail2026._domainkey.example.com")).ok).toBe(false);
  expect((await dkimpy(m.raw, envKey.publicKey, "mail2026._domainkey.example.com")).ok).toBe(false);
});

test("the key from private_key_env signs under its own selector; the domain is written in lower case", async () => {
  const m = await deliver(2);
  expect(m.header("dkim-signature")).toMatch(/d=example\.com/);
  expect((await dkimpy(m.raw, envKey.publicKey, "s2.eu._domainkey.example.com")).ok).toBe(true);
});
