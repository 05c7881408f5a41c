// How attachments look on the wire: multipart/mixed (with multipart/alternative inside when there
// is HTML), Content-Disposition attachment, RFC 2231 filenames read back by two parsers, inline
// images by Content-ID, exact bytes for text too; and their rows go with the outbox row.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { OutboxStatus } from "../../../gen/email/v1/outbox_pb.js";
import { sinkAccount, startTestApp, type TestApp } from "../../helpers/app.js";
import { emailClient, type EmailClient } from "../../helpers/clients.js";
import { startSmtpSink, type SmtpSink } from "../../helpers/smtp-sink.js";
import { parseWithPython, rowCounts, sha256, sql } from "./helpers.js";

let base: string;
let sink: SmtpSink;
let t: TestApp;
let client: EmailClient;

// Bytes a text re-encoding would change: bare LF, bare CR, CRLF, trailing spaces, NUL, high bytes.
const TEXT = Buffer.from("line one\nline two\r\nbare\rcr  \n\0\xff\xfe end", "latin1");
const PDF = Buffer.from("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n%%EOF\n", "latin1");
const PNG = Buffer.from("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489", "hex");
const NON_ASCII = "附件报告.pdf";

beforeAll(async () => {
  base = await mkdtemp(path.join(tmpdir(), "attachment-mime-"));
  await mkdir(path.join(base, "reports"));
  await writeFile(path.join(base, "reports", "q1.pdf"), PDF);
  sink = await startSmtpSink();
  t = await startTestApp({ label: "attachment_mime", json: { accounts: [sinkAccount(1, sink.port)], attachment_store: { dir: base } } });
  client = emailClient(t.url);
});
afterAll(async () => {
  await t?.close();
  await sink?.close();
  await rm(base, { recursive: true, force: true });
});

const GOOD = { accountId: 1, to: ["Bob <bob@example.com>"], subject: "Quarterly report", bodyText: "See attached.", waitForAttempt: true };

/** Runs a call that sends one message and returns that message as the sink received it. */
async function delivered(call: () => Promise<unknown>) {
  const before = sink.messages.length;
  await call();
  return (await sink.waitFor(before + 1))[before]!;
}

test("text + HTML + attachments: multipart/mixed around multipart/alternative, each file a Content-Disposition attachment", async () => {
  const msg = await delivered(async () => {
    const res = await client.send({
      ...GOOD,
      bodyHtml: "<p>See attached.</p>",
      attachments: [
        { filename: NON_ASCII, contentType: "application/pdf", path: "reports/q1.pdf" },
        { filename: "notes.txt", contentType: "Text/Plain; charset=utf-8", content: TEXT },
      ],
    });
    expect(res.outbox?.status).toBe(OutboxStatus.SENT);
  });

  expect(msg.header("content-type")).toMatch(/^multipart\/mixed;/);
  const py = await parseWithPython(msg.raw);
  expect(py.structure).toEqual(["multipart/mixed", "multipart/alternative", "text/plain", "text/html", "application/pdf", "text/plain"]);
  expect(py.attachments).toEqual([
    { filename: NON_ASCII, contentType: "application/pdf", disposition: "attachment", sha256: sha256(PDF) },
    { filename: "notes.txt", contentType: "text/plain", disposition: "attachment", sha256: sha256(TEXT) },
  ]);

  const [pdf, txt] = msg.parsed.attachments;
  expect({ filename: pdf!.filename, type: pdf!.contentType, disposition: pdf!.contentDisposition, sha: sha256(pdf!.content) }).toEqual({
    filename: NON_ASCII,
    type: "application/pdf",
    disposition: "attachment",
    sha: sha256(PDF),
  });
  expect({ filename: txt!.filename, sha: sha256(txt!.content) }).toEqual({ filename: "notes.txt", sha: sha256(TEXT) });
  expect(msg.parsed.text?.trim()).toBe("See attached.");
  expect(msg.parsed.html).toContain("<p>See attached.</p>");

  // RFC 2231 (filename*=utf-8''…) in the raw header, not a raw UTF-8 or RFC 2047 filename parameter.
  const raw = msg.raw.toString("latin1");
  expect(raw).toMatch(/Content-Disposition: attachment;\s+filename\*(0\*)?=utf-8''%E9%99%84/i);
  expect(raw).not.toContain(Buffer.from(NON_ASCII).toString("latin1"));
});

test("text only with an attachment: multipart/mixed, the text part first", async () => {
  const msg = await delivered(() =>
    client.send({ ...GOOD, attachments: [{ filename: "r.pdf", contentType: "application/pdf", content: PDF }] }),
  );
  const py = await parseWithPython(msg.raw);
  expect(py.structure).toEqual(["multipart/mixed", "text/plain", "application/pdf"]);
});

test("an image with a content_id is an inline part the HTML refers to by cid", async () => {
  const msg = await delivered(() =>
    client.send({
      ...GOOD,
      bodyHtml: '<p><img src="cid:logo@outbox"></p>',
      attachments: [
        { filename: "logo.png", contentType: "image/png", content: PNG, contentId: "logo@outbox" },
        { filename: "r.pdf", contentType: "application/pdf", content: PDF },
      ],
    }),
  );
  const [logo, pdf] = msg.parsed.attachments;
  expect({ cid: logo!.cid, disposition: logo!.contentDisposition, related: logo!.related, sha: sha256(logo!.content) }).toEqual({
    cid: "logo@outbox",
    disposition: "inline",
    related: true,
    sha: sha256(PNG),
  });
  expect(pdf!.contentDisposition).toBe("attachment");
  expect(msg.header("content-type")).toMatch(/^multipart\/mixed;/);
  expect(msg.raw.toString()).toMatch(/^Content-ID: <logo@outbox>\r$/m);
});

test("a Reply carries attachments too", async () => {
  const parent = await delivered(() => client.send({ ...GOOD, subject: "Thread" }));
  const msg = await delivered(async () => {
    const res = await client.reply({
      accountId: 1,
      inReplyToMessageId: parent.messageId,
      bodyText: "Here it is.",
      waitForAttempt: true,
      attachments: [{ filename: "r.pdf", contentType: "application/pdf", path: "reports/q1.pdf" }],
    });
    expect(res.outbox?.status).toBe(OutboxStatus.SENT);
  });
  expect(msg.parsed.inReplyTo).toBe(parent.messageId);
  expect(msg.parsed.attachments.map((a) => sha256(a.content))).toEqual([sha256(PDF)]);
});

test("deleting an outbox row deletes its attachments and their bytes", async () => {
  const res = await client.send({ ...GOOD, attachments: [{ filename: "r.pdf", contentType: "application/pdf", content: PDF }] });
  const id = Number(res.outbox!.outboxId);
  const before = await rowCounts(t.db.url);
  const mine = await sql<{ n: number }[]>(t.db.url, "SELECT COUNT(*) AS n FROM outbox_attachment_chunk WHERE outbox_id = ?", [id]);
  expect(Number(mine[0]!.n)).toBe(1);
  await sql(t.db.url, "DELETE FROM outbox WHERE id = ?", [id]);
  const after = await rowCounts(t.db.url);
  expect({ attachments: after.attachments, chunks: after.chunks }).toEqual({
    attachments: before.attachments! - 1,
    chunks: before.chunks! - 1,
  });
});
