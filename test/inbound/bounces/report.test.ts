// Reading reports as pure logic: each fixture shape gives the recipient, state, status, reason,
// reply code and the original Message-ID; ordinary mail and success reports are not reports; and Python's own
// email package reads the same fields from the standard ones, so the fixtures are real MIME.
import { execFileSync } from "node:child_process";
import { expect, test } from "vitest";
import { recipientFields } from "../../../src/inbound/bounces/fields.js";
import { readReport } from "../../../src/inbound/bounces/report.js";
import { fieldAddress } from "../../../src/inbound/bounces/text.js";
import { verpAddress, verpOutboxId } from "../../../src/message/verp.js";
import { fixture, type Fixture } from "./fixtures.js";

const FILL = { rcpt: "Jordan@Example.org", messageId: "<outbox-42-1@outbox.test>" };

test.each<[Fixture, string, string, string, string, string]>([
  ["postfix-dsn", "bounced", "5.1.1", "user_unknown", "550", "User unknown in virtual mailbox table"],
  ["postfix-delayed", "delayed", "4.4.1", "delayed", "", "Connection timed out"],
  ["exim-plain", "bounced", "5.1.1", "user_unknown", "550", "Recipient address rejected: User unknown"],
  ["gmail-dsn", "bounced", "5.1.1", "user_unknown", "", "does not exist"],
  ["exchange-ndr", "bounced", "5.2.2", "mailbox_full", "554", "mailbox full"],
  ["arf-complaint", "complained", "abuse", "complaint", "", "feedback report (abuse)"],
])("%s: %s %s %s", async (name, state, status, reason, replyCode, diagnostic) => {
  const report = await readReport(fixture(name, FILL));
  const feedback = state === "complained" ? { feedbackType: status } : {};
  expect(report?.recipients).toEqual([
    { address: "jordan@example.org", state, status, reason, replyCode, ...feedback, diagnostic: expect.stringContaining(diagnostic) },
  ]);
  expect(report!.originalMessageIds).toContain("<outbox-42-1@outbox.test>");
  expect(report!.kind).toBe(name === "arf-complaint" ? "complaint" : "bounce");
});

test("the Exim copy's other addresses are not taken for failed recipients", async () => {
  const report = await readReport(fixture("exim-plain", FILL));
  expect(report!.recipients.map((r) => r.address)).toEqual(["jordan@example.org"]);
  expect(report!.originalRecipients).toEqual(["jordan@example.org", "other@example.org"]);
});

test("ordinary mail, and a report of successful delivery, are not reports", async () => {
  const plain = Buffer.from("From: a@example.org\r\nTo: b@example.org\r\nSubject: hello\r\n\r\nThe mail delivery failed to amuse me.\r\n");
  expect(await readReport(plain)).toBeUndefined();
  const delivered = fixture("postfix-dsn", FILL)
    .toString()
    .replace("Action: failed", "Action: delivered")
    .replace("Status: 5.1.1", "Status: 2.0.0");
  expect(await readReport(Buffer.from(delivered))).toBeUndefined();
});

test("DSN fields: folded values, every occurrence, a group per recipient even without blank lines, prose skipped; recipient values that are no address", () => {
  const text = [
    "Some prose here.",
    "And more.",
    "",
    "Reporting-MTA: dns; mx.example",
    "",
    "Final-Recipient: rfc822; a@b.example",
    "Diagnostic-Code: smtp; 550",
    "  folded",
    "Status: 5.0.0",
    "Status: 4.0.0",
    "Final-Recipient: rfc822; c@d.example",
    "Action: failed",
  ].join("\n");
  expect(recipientFields(text, 10)).toEqual([
    new Map([
      ["final-recipient", ["rfc822; a@b.example"]],
      ["diagnostic-code", ["smtp; 550 folded"]],
      ["status", ["5.0.0", "4.0.0"]],
    ]),
    new Map([
      ["final-recipient", ["rfc822; c@d.example"]],
      ["action", ["failed"]],
    ]),
  ]);
  expect(recipientFields(text, 1)).toHaveLength(1);
  expect(["rfc822; <A@B.example>", "rfc822;a@b.example (was: c@d.example)", "A@B.example"].map(fieldAddress)).toEqual([
    "a@b.example",
    "a@b.example",
    "a@b.example",
  ]);
  expect(["rfc822; |/usr/bin/procmail", "X-Unix; /var/mail/a", "LOCAL; kijitora", "rfc822; @mx.example.org"].map(fieldAddress)).toEqual([
    undefined,
    undefined,
    undefined,
    undefined,
  ]);
});

test("VERP: the address names its row; another row's or a changed hash is recognised as forged", () => {
  const verp = { domain: "bounces.example.com", secret: "0123456789abcdef0123" };
  const address = verpAddress(1, 42, verp);
  expect(address).toMatch(/^bounce\+42-[0-9a-f]{16}@bounces\.example\.com$/);
  expect(verpOutboxId([`<${address}>`], 1, verp)).toBe(42);
  expect(verpOutboxId([address.replace("+42-", "+43-")], 1, verp)).toBe("forged");
  expect(verpOutboxId([address], 2, verp)).toBe("forged");
  expect(verpOutboxId(["sender1@example.com"], 1, verp)).toBeUndefined();
});

test("Python's email package reads the same recipient, action and status from the standard reports", () => {
  const script = `
import email, json, sys
from email import policy
out = []
for path in sys.argv[1:]:
    msg = email.message_from_bytes(open(path, "rb").read(), policy=policy.compat32)
    for part in msg.walk():
        ct = part.get_content_type()
        if ct == "message/delivery-status":
            blocks = part.get_payload()
            rcpt = [b for b in blocks if b.get("Final-Recipient")][0]
            out.append([rcpt["Final-Recipient"].split(";")[1].strip().lower(), rcpt["Action"], rcpt["Status"]])
        if ct == "message/feedback-report":
            blocks = part.get_payload()
            fb = blocks[0] if isinstance(blocks, list) else email.message_from_string(blocks)
            out.append([fb["Original-Rcpt-To"].strip("<>").lower(), "complained", fb["Feedback-Type"]])
print(json.dumps(out))
`;
  const names: Fixture[] = ["postfix-dsn", "gmail-dsn", "exchange-ndr", "arf-complaint"];
  const dir = execFileSync("mktemp", ["-d"]).toString().trim();
  const paths = names.map((n) => {
    const p = `${dir}/${n}.eml`;
    execFileSync("tee", [p], { input: fixture(n, FILL) });
    return p;
  });
  const python = JSON.parse(execFileSync("/usr/bin/python3", ["-c", script, ...paths]).toString()) as string[][];
  expect(python).toEqual([
    ["jordan@example.org", "failed", "5.1.1"],
    ["jordan@example.org", "failed", "5.1.1"],
    ["jordan@example.org", "failed", "5.2.2"],
    ["jordan@example.org", "complained", "abuse"],
  ]);
  execFileSync("rm", ["-rf", dir]);
});
