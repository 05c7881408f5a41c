// A hostile report is bounded: recipients per report are capped, MIME nesting and parts are
// capped, only the first REPORT_BYTES are read, and the patterns are linear by construction (the
// inputs below would take hours with a backtracking pattern; no test here times anything).
import { expect, test } from "vitest";
import { MAX_DEPTH, MAX_PARTS, readMail } from "../../../src/inbound/bounces/mime.js";
import { MAX_RECIPIENTS, readReport, REPORT_BYTES } from "../../../src/inbound/bounces/report.js";

const HEAD = "From: MAILER-DAEMON@mx.example.net\r\nTo: sender@example.com\r\nSubject: Undelivered Mail Returned to Sender\r\n";

function dsn(recipients: number): string {
  const blocks = Array.from(
    { length: recipients },
    (_, i) => `Final-Recipient: rfc822; user${i}@example.org\r\nAction: failed\r\nStatus: 5.1.1\r\n`,
  );
  return `Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.net\r\n\r\n${blocks.join("\r\n")}`;
}

function report(parts: string[], boundary = "b0"): Buffer {
  const body = `${parts.map((p) => `--${boundary}\r\n${p}\r\n`).join("")}--${boundary}--\r\n`;
  return Buffer.from(
    `${HEAD}MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary="${boundary}"\r\n\r\n${body}`,
  );
}

test("a DSN naming 10,000 recipients gives the first MAX_RECIPIENTS", async () => {
  expect(MAX_RECIPIENTS).toBe(1000);
  const r = await readReport(report([dsn(10_000)]));
  expect(r!.recipients).toHaveLength(MAX_RECIPIENTS);
  expect(r!.recipients[999]).toMatchObject({ address: "user999@example.org", reason: "user_unknown" });
});

test("a notice listing 10,000 recipients, and a complaint naming 10,000, are capped the same", async () => {
  const lines = Array.from({ length: 10_000 }, (_, i) => `<user${i}@example.org>:\r\n550 5.1.1 User unknown\r\n`).join("\r\n");
  const notice = await readReport(
    Buffer.from(`${HEAD}\r\nI'm afraid I wasn't able to deliver your message to the following addresses.\r\n\r\n${lines}`),
  );
  expect(notice!.recipients).toHaveLength(MAX_RECIPIENTS);
  const rcpts = Array.from({ length: 10_000 }, (_, i) => `Original-Rcpt-To: user${i}@example.org\r\n`).join("");
  const arf = Buffer.from(
    `From: fbl@isp.example.net\r\nSubject: complaint\r\nContent-Type: multipart/report; report-type=feedback-report; boundary="f"\r\n\r\n` +
      `--f\r\nContent-Type: message/feedback-report\r\n\r\nFeedback-Type: abuse\r\n${rcpts}--f--\r\n`,
  );
  const complaint = await readReport(arf);
  expect(complaint!.kind).toBe("complaint");
  expect(complaint!.recipients).toHaveLength(MAX_RECIPIENTS);
});

/** A DSN at the bottom of `depth` nested multiparts. */
function nested(depth: number): Buffer {
  let part = dsn(1);
  for (let d = depth; d > 0; d--) part = `Content-Type: multipart/mixed; boundary="n${d}"\r\n\r\n--n${d}\r\n${part}\r\n--n${d}--`;
  return report([part]);
}

test("MIME nesting is followed to MAX_DEPTH and no deeper; a deep or wide message has at most MAX_PARTS leaves", async () => {
  expect((await readReport(nested(MAX_DEPTH - 2)))?.recipients.map((r) => r.address)).toEqual(["user0@example.org"]);
  expect(await readReport(nested(MAX_DEPTH + 2))).toBeUndefined();
  expect(readMail(nested(5_000)).parts.length).toBeLessThanOrEqual(MAX_PARTS);
  const wide = report(Array.from({ length: 5_000 }, (_, i) => `Content-Type: text/plain\r\n\r\npart ${i}`));
  expect(readMail(wide).parts).toHaveLength(MAX_PARTS);
});

test("only the first REPORT_BYTES are read: a status part after them is not", async () => {
  const filler = `Content-Type: text/plain\r\n\r\n${"x".repeat(78)}\r\n`.repeat(Math.ceil(REPORT_BYTES / 80) + 10);
  expect((await readReport(report([dsn(1), filler])))?.recipients).toHaveLength(1);
  expect(await readReport(report([filler, dsn(1)]))).toBeUndefined();
});

test("pathological text is read in linear time: long runs that near-match addresses, codes and phrases", async () => {
  const runs = [
    `${"a-".repeat(60_000)}@`,
    `${"a.".repeat(60_000)}@example`,
    `<${"a".repeat(100_000)}`,
    "5.5.5.5.".repeat(15_000),
    "550-".repeat(30_000),
    "mailbox over ".repeat(10_000),
    "host ".repeat(25_000),
    `${"-".repeat(100_000)} original`,
    `=?utf-8?B?${"A".repeat(100_000)}`,
    `${"-".repeat(100_000)}\r\n${" ".repeat(100_000)}copy of`,
  ];
  for (const run of runs) {
    const raw = Buffer.from(`${HEAD}\r\nThe following address failed:\r\n\r\n  user@example.org\r\n    ${run}\r\n`);
    expect((await readReport(raw))?.recipients[0]?.address).toBe("user@example.org");
  }
  const html = `<p>The following address failed: <b>user@example.org</b></p>${"<".repeat(100_000)}${"<style>".repeat(20_000)}`;
  const htmlOnly = Buffer.from(`${HEAD}Content-Type: text/html\r\n\r\n${html}`);
  expect((await readReport(htmlOnly))?.recipients[0]?.address).toBe("user@example.org");
});
