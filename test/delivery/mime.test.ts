// The one-pass writer of mime.ts against nodemailer's own stream build of the same tree: the
// same bytes, but for the root's Message-ID and Date (an attempt puts those in front).
import MailComposer from "nodemailer/lib/mail-composer/index.js";
import type Mail from "nodemailer/lib/mailer/index.js";
import { describe, expect, test } from "vitest";
import { mailOptions, type MessageParts } from "../../src/delivery/compose.js";
import { attemptHead, composeBody, MAX_STORED_MIME_BYTES, storedMime, writeTree } from "../../src/delivery/mime.js";

const base: MessageParts = {
  from: "Sender <sender@example.com>",
  to: ["bob@example.com"],
  cc: [],
  bcc: [],
  subject: "Hi",
  bodyText: "Hello\n",
};
const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 3, 0xff, 0x0d, 0x0a, 0x2e]);

const CASES: [string, MessageParts, Mail.Options["attachments"]?][] = [
  ["plain ASCII text", base],
  [
    "non-ASCII text, subject and display name",
    { ...base, from: "Zoë Ünal <zoe@example.com>", subject: "Grüße 🌍", bodyText: "Grüße aus Köln\n" },
  ],
  ["a line over 76 characters", { ...base, bodyText: `${"word ".repeat(60)}\n.leading dot\n` }],
  ["text and HTML", { ...base, bodyHtml: "<p>Hello <b>there</b></p>" }],
  ["HTML only", { ...base, bodyText: "", bodyHtml: "<p>only html</p>" }],
  ["trailing whitespace and CRLF", { ...base, bodyText: "a line with trailing spaces   \r\nnext\t\r\n" }],
  [
    "cc, reply-to, threading and extra headers",
    {
      ...base,
      cc: ["Carol <carol@example.com>"],
      bcc: ["dave@example.com"],
      replyTo: "replies@example.com",
      inReplyTo: "<a@example.com>",
      references: "<a@example.com> <b@example.com>",
      headers: [
        ["List-Unsubscribe", "<https://example.com/u>"],
        ["X-Campaign", "spring ☀"],
      ],
    },
  ],
  ["attachments, inline and not", { ...base, bodyHtml: '<img src="cid:logo">' }, []],
];

/** nodemailer's own output for the tree, without the root's Message-ID and Date. */
async function nodemailerBytes(root: ReturnType<MailComposer["compile"]>): Promise<string> {
  const built = (await root.build()).toString("utf8");
  const end = built.indexOf("\r\n\r\n");
  const head = built
    .slice(0, end)
    .split("\r\n")
    .filter((l) => !/^(message-id|date):/i.test(l))
    .join("\r\n");
  return head + built.slice(end);
}

describe("composeBody writes what nodemailer's stream build writes", () => {
  test.each(CASES)("%s", async (_name, parts) => {
    const files =
      _name === "attachments, inline and not"
        ? [
            { filename: "logo.png", contentType: "image/png", contentId: "logo", content: png },
            { filename: "notes.txt", contentType: "text/plain", contentId: null, content: Buffer.from("a\nb\r\n.c") },
          ]
        : [];
    const root = new MailComposer(mailOptions(parts, files)).compile();
    // Ours first: a stream build takes each part's content out of the tree.
    const ours = writeTree(root).toString("utf8");
    expect(ours).toBe(await nodemailerBytes(root));
    expect(ours).not.toMatch(/^(Message-ID|Date):/im);
  });
});

test("a stored message leaves out suppressed recipients' headers only through recipients(); Bcc is never in it", () => {
  const bytes = composeBody(mailOptions({ ...base, bcc: ["hidden@example.com"] }, [])).toString();
  expect(bytes).toContain("To: bob@example.com");
  expect(bytes).not.toContain("hidden@example.com");
});

test("messages over the stored size are left to the attempt", () => {
  expect(storedMime(base)).toBeInstanceOf(Buffer);
  expect(storedMime({ ...base, bodyText: "x".repeat(MAX_STORED_MIME_BYTES) })).toBeUndefined();
});

test("the attempt's head names the attempt, the date and the row", () => {
  expect(attemptHead("<outbox-7-1@example.com>", new Date(Date.UTC(2026, 11, 6, 19, 0, 5)), 7)).toBe(
    "Message-ID: <outbox-7-1@example.com>\r\nDate: Sun, 06 Dec 2026 19:00:05 +0000\r\nX-Outbox-ID: 7\r\n",
  );
});
