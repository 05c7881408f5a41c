// The report shapes the corpus has few of, hand-written after the ones real MTAs send
// (test/inbound/bounces/fixtures/shapes): each is read with every recipient it names, and only those,
// with the status, reply code and reason the text gives; an auto-reply is no report.
import { readFileSync } from "node:fs";
import { expect, test } from "vitest";
import { readReport } from "../../../src/inbound/bounces/report.js";

const read = (name: string) => readReport(readFileSync(new URL(`./fixtures/shapes/${name}.eml`, import.meta.url)));

type Row = [address: string, state: string, status: string, replyCode: string, reason: string];

test.each<[string, "bounce" | "complaint", Row[], string[]]>([
  // "did not reach the following recipient(s)": the summary's To line (alice) is no failure.
  [
    "exchange2003",
    "bounce",
    [
      ["bob.jones@example.net", "bounced", "5.0.0", "", "user_unknown"],
      ["carol@example.net", "bounced", "5.0.0", "", "mailbox_full"],
    ],
    ["<outbox-7-1@outbox.test>"],
  ],
  // Recipient blocks without the blank line between them; the delivered one is no failure.
  [
    "aol-dsn-no-blank",
    "bounce",
    [
      ["first@aol.example.com", "bounced", "5.1.1", "550", "user_unknown"],
      ["second@aol.example.com", "bounced", "5.2.2", "552", "mailbox_full"],
    ],
    ["<outbox-8-1@outbox.test>"],
  ],
  [
    "arf-several-rcpt",
    "complaint",
    [
      ["one@isp.example.net", "complained", "abuse", "", "complaint"],
      ["two@isp.example.net", "complained", "abuse", "", "complaint"],
      ["three@isp.example.net", "complained", "abuse", "", "complaint"],
    ],
    ["<outbox-9-1@outbox.test>"],
  ],
  // Hotmail's complaint is no multipart/report: the address is in X-HmXmrOriginalRecipient.
  ["hotmail-complaint", "complaint", [["reader@hotmail.example", "complained", "abuse", "", "complaint"]], ["<outbox-10-1@outbox.test>"]],
  // SNS envelope around SES's JSON, a display name in one address.
  [
    "ses-bounce",
    "bounce",
    [
      ["gone@example.org", "bounced", "5.1.1", "550", "user_unknown"],
      ["full@example.org", "bounced", "5.2.2", "552", "mailbox_full"],
    ],
    ["<outbox-11-1@outbox.test>"],
  ],
  ["ses-complaint", "complaint", [["angry@example.org", "complained", "abuse", "", "complaint"]], ["<outbox-12-1@outbox.test>"]],
  ["exim-delay", "bounce", [["slow@example.org", "delayed", "4.0.0", "", "delayed"]], []],
  // DSN fields in a quoted-printable text part, broken mid-name by soft line breaks.
  ["qp-dsn-in-text", "bounce", [["deja@example.org", "bounced", "5.1.1", "550", "user_unknown"]], ["<outbox-13-1@outbox.test>"]],
  // The DSN names a pipe command: the recipient is the address that expanded to it.
  ["pipe-recipient", "bounce", [["owner@host.example.com", "bounced", "5.0.0", "", "system_error"]], ["<outbox-14-1@outbox.test>"]],
  // A mobile carrier's notice: the reason above the address, EUC-JP text labelled ISO-2022-JP.
  ["carrier-euc-jp", "bounce", [["someone@carrier.example.jp", "bounced", "5.0.0", "", "suspended"]], ["<outbox-15-1@outbox.test>"]],
])("%s", async (name, kind, rows, messageIds) => {
  const report = await read(name);
  expect(report?.kind).toBe(kind);
  expect(report!.recipients.map((r) => [r.address, r.state, r.status, r.replyCode, r.reason])).toEqual(rows);
  expect(report!.originalMessageIds).toEqual(messageIds);
  for (const r of report!.recipients) {
    expect(r.diagnostic.length).toBeGreaterThan(0);
    expect(r.diagnostic.length).toBeLessThanOrEqual(1000);
    if (kind === "complaint") expect(r.feedbackType).toBe("abuse");
  }
});

test("text in a charset other than the one declared is still read as text", async () => {
  expect((await read("carrier-euc-jp"))!.recipients[0]!.diagnostic).toContain("送信できませんでした");
});

test("a postmaster's mail that reports no failure, and a not-spam feedback report, are no reports", async () => {
  const receipt =
    "From: postmaster@example.net\r\nTo: sender@example.com\r\nSubject: Your request\r\n\r\nThank you for writing to support@example.net.\r\nWe will answer within a day.\r\n";
  expect(await readReport(Buffer.from(receipt))).toBeUndefined();
  const arf = readFileSync(new URL("./fixtures/shapes/arf-several-rcpt.eml", import.meta.url), "utf8").replace(
    "Feedback-Type: abuse",
    "Feedback-Type: not-spam",
  );
  expect(await readReport(Buffer.from(arf))).toBeUndefined();
});

test("an auto-reply is never a bounce, even when its subject quotes one", async () => {
  expect(await read("out-of-office")).toBeUndefined();
});
