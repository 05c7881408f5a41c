// IngestMessage, GetMessage and ListMessages over a real client, server and database.
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { Code, createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { MailboxService, MessageDirection } from "../../../gen/email/v1/mailbox_service_pb.js";
import { sinkAccount, startTestApp, type TestApp } from "../../helpers/app.js";
import { refusal } from "../../helpers/refusal.js";
import { rawMail } from "./raw-mail.js";

let t: TestApp;
let mailbox: Client<typeof MailboxService>;

beforeAll(async () => {
  // Nothing is sent here: the SMTP port is never dialled.
  t = await startTestApp({ label: "mailbox", background: false, json: { accounts: [sinkAccount(1, 9), sinkAccount(2, 9)] } });
  mailbox = createClient(MailboxService, createConnectTransport({ baseUrl: t.url, httpVersion: "1.1" }));
});
afterAll(async () => {
  await t?.close();
});

const PDF = Buffer.from("%PDF-1.4 a tiny document\n");
const PNG = Buffer.from("89504e470d0a1a0a0000000d49484452", "hex");

/** A multipart message as a mail client writes it: text + HTML alternatives, a PDF, an inline image. */
const FULL = Buffer.from(
  [
    `From: =?utf-8?Q?Zo=C3=AB_Customer?= <zoe@client.example>`,
    `Reply-To: Help Desk <help@client.example>`,
    `To: Account 1 <sender1@example.com>, Bob <bob@client.example>`,
    `Cc: carol@client.example`,
    `Subject: =?utf-8?B?${Buffer.from("Über the invoice").toString("base64")}?=`,
    `Date: Wed, 03 Jan 2024 09:30:00 +0100`,
    `Message-ID: <full-1@client.example>`,
    `In-Reply-To: <outbox-7-0@mail.test>`,
    `References: <root@client.example>`,
    `\t<outbox-7-0@mail.test>`,
    `MIME-Version: 1.0`,
    `Content-Type: multipart/mixed; boundary="mixed"`,
    ``,
    `--mixed`,
    `Content-Type: multipart/related; boundary="rel"`,
    ``,
    `--rel`,
    `Content-Type: multipart/alternative; boundary="alt"`,
    ``,
    `--alt`,
    `Content-Type: text/plain; charset=utf-8`,
    ``,
    `Plain body with a needle.`,
    `--alt`,
    `Content-Type: text/html; charset=utf-8`,
    ``,
    `<p>HTML body <img src="cid:logo@client.example"></p>`,
    `--alt--`,
    `--rel`,
    `Content-Type: image/png`,
    `Content-ID: <logo@client.example>`,
    `Content-Disposition: inline; filename="logo.png"`,
    `Content-Transfer-Encoding: base64`,
    ``,
    PNG.toString("base64"),
    `--rel--`,
    `--mixed`,
    `Content-Type: application/pdf; name="invoice.pdf"`,
    `Content-Disposition: attachment; filename="invoice.pdf"`,
    `Content-Transfer-Encoding: base64`,
    ``,
    PDF.toString("base64"),
    `--mixed--`,
    ``,
  ].join("\r\n"),
);

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

describe("IngestMessage", () => {
  test("stores every field a reply or a reader needs", async () => {
    const res = await mailbox.ingestMessage({ accountId: 1, raw: FULL });
    expect(res.created).toBe(true);
    const m = (await mailbox.getMessage({ accountId: 1, messageId: "<full-1@client.example>" })).message!;
    expect(m).toMatchObject({
      accountId: 1,
      direction: MessageDirection.INBOUND,
      messageId: "<full-1@client.example>",
      from: `"Zoë Customer" <zoe@client.example>`,
      replyTo: [`"Help Desk" <help@client.example>`],
      to: [`"Account 1" <sender1@example.com>`, `"Bob" <bob@client.example>`],
      cc: ["carol@client.example"],
      subject: "Über the invoice",
      inReplyTo: "<outbox-7-0@mail.test>",
      references: ["<root@client.example>", "<outbox-7-0@mail.test>"],
      outboxId: 0n,
    });
    expect(timestampMs(m.date!)).toBe(Date.UTC(2024, 0, 3, 8, 30));
    expect(m.bodyText.trim()).toBe("Plain body with a needle.");
    expect(m.bodyHtml).toContain(`<img src="cid:logo@client.example">`);
    const byName = Object.fromEntries(m.attachments.map((a) => [a.filename, a]));
    expect(byName["invoice.pdf"]).toMatchObject({
      contentType: "application/pdf",
      size: BigInt(PDF.length),
      sha256: sha256(PDF),
      disposition: "attachment",
    });
    expect(byName["logo.png"]).toMatchObject({
      contentType: "image/png",
      size: BigInt(PNG.length),
      sha256: sha256(PNG),
      contentId: "<logo@client.example>",
    });
  });

  test("the same message twice is one row with the same id", async () => {
    const raw = rawMail({ messageId: "<twice@client.example>", subject: "Twice" });
    const first = await mailbox.ingestMessage({ accountId: 1, raw });
    const second = await mailbox.ingestMessage({ accountId: 1, raw });
    expect([first.created, second.created]).toEqual([true, false]);
    expect(second.message!.id).toBe(first.message!.id);
    const [rows] = (await t.app.pool.query(
      "SELECT COUNT(*) AS n FROM mail_message WHERE message_id = '<twice@client.example>'",
    )) as unknown as [{ n: number }[]];
    expect(Number(rows[0]!.n)).toBe(1);
    // Another account holding the same Message-ID is another message.
    expect((await mailbox.ingestMessage({ accountId: 2, raw })).created).toBe(true);
  });

  test("a message without a Message-ID gets a stable content hash id", async () => {
    const raw = rawMail({ subject: "No id", text: "Body one." });
    const first = await mailbox.ingestMessage({ accountId: 1, raw });
    expect(first.message!.messageId).toMatch(/^<[0-9a-f]{64}@ingest\.invalid>$/);
    const again = await mailbox.ingestMessage({ accountId: 1, raw });
    expect(again).toMatchObject({ created: false, message: { id: first.message!.id, messageId: first.message!.messageId } });
    // The same bytes with bare LF line endings are the same message.
    const lf = Buffer.from(raw.toString("latin1").replace(/\r\n/g, "\n"), "latin1");
    expect((await mailbox.ingestMessage({ accountId: 1, raw: lf })).message!.messageId).toBe(first.message!.messageId);
    const other = await mailbox.ingestMessage({ accountId: 1, raw: rawMail({ subject: "No id", text: "Body two." }) });
    expect(other.created).toBe(true);
    expect(other.message!.messageId).not.toBe(first.message!.messageId);
  });

  test("a Message-ID without angle brackets is stored in <local@domain> form and found either way", async () => {
    await mailbox.ingestMessage({ accountId: 1, raw: rawMail({ messageId: "bare-id@client.example" }) });
    for (const messageId of ["bare-id@client.example", "<bare-id@client.example>"]) {
      expect((await mailbox.getMessage({ accountId: 1, messageId })).message!.messageId).toBe("<bare-id@client.example>");
    }
  });

  test("requests that cannot be stored are refused", async () => {
    expect(await refusal(mailbox.ingestMessage({ accountId: 1, raw: new Uint8Array() }))).toMatchObject({
      code: Code.InvalidArgument,
      reason: "REQUIRED_FIELD_EMPTY",
      fields: ["raw"],
    });
    expect(await refusal(mailbox.ingestMessage({ accountId: 1, raw: Buffer.from("just some text\r\n") }))).toMatchObject({
      code: Code.InvalidArgument,
      reason: "MESSAGE_INVALID",
    });
    expect(await refusal(mailbox.ingestMessage({ accountId: 99, raw: rawMail({}) }))).toMatchObject({
      code: Code.NotFound,
      reason: "ACCOUNT_NOT_FOUND",
    });
  });
});

describe("GetMessage", () => {
  test("unknown, malformed and other accounts' ids are refused", async () => {
    expect(await refusal(mailbox.getMessage({ accountId: 1, messageId: "<nobody@client.example>" }))).toMatchObject({
      code: Code.NotFound,
      reason: "MESSAGE_NOT_FOUND",
    });
    expect(await refusal(mailbox.getMessage({ accountId: 1, messageId: "not an id" }))).toMatchObject({
      code: Code.InvalidArgument,
      reason: "MESSAGE_ID_INVALID",
    });
    await mailbox.ingestMessage({ accountId: 2, raw: rawMail({ messageId: "<two-only@client.example>" }) });
    expect((await refusal(mailbox.getMessage({ accountId: 1, messageId: "<two-only@client.example>" }))).code).toBe(Code.NotFound);
  });
});

describe("ListMessages", () => {
  const ids = (res: { messages: { messageId: string }[] }) => res.messages.map((m) => m.messageId);

  beforeAll(async () => {
    const items = [
      { messageId: "<s-pct@search.example>", subject: "100% done" },
      { messageId: "<s-100@search.example>", subject: "100 percent" },
      { messageId: "<s-und@search.example>", subject: "a_b" },
      { messageId: "<s-axb@search.example>", subject: "axb" },
      { messageId: "<s-body@search.example>", subject: "Body match", text: "There is a NeedleInHay here." },
      { messageId: "<s-from@search.example>", subject: "Sender match", from: "Zed Searcher <zed@finder.example>" },
    ];
    for (const m of items) await mailbox.ingestMessage({ accountId: 2, raw: rawMail(m) });
  });

  test("'%' and '_' in a query match themselves", async () => {
    expect(ids(await mailbox.listMessages({ accountId: 2, query: "%" }))).toEqual(["<s-pct@search.example>"]);
    expect(ids(await mailbox.listMessages({ accountId: 2, query: "100%" }))).toEqual(["<s-pct@search.example>"]);
    expect(ids(await mailbox.listMessages({ accountId: 2, query: "a_b" }))).toEqual(["<s-und@search.example>"]);
  });

  test("subject, sender and body are searched without regard to case", async () => {
    expect(ids(await mailbox.listMessages({ accountId: 2, query: "needleinhay" }))).toEqual(["<s-body@search.example>"]);
    expect(ids(await mailbox.listMessages({ accountId: 2, query: "ZED@FINDER" }))).toEqual(["<s-from@search.example>"]);
    expect(ids(await mailbox.listMessages({ accountId: 2, query: "body MATCH" }))).toEqual(["<s-body@search.example>"]);
    expect(ids(await mailbox.listMessages({ accountId: 1, query: "needleinhay" }))).toEqual([]);
  });

  test("pages cover every message once, newest first, without bodies", async () => {
    const all = await mailbox.listMessages({ accountId: 2, pageSize: 500 });
    expect(all.nextPageToken).toBe("");
    expect(all.messages.every((m) => m.bodyText === "" && m.bodyHtml === "")).toBe(true);
    const seen: string[] = [];
    let pageToken = "";
    do {
      const page = await mailbox.listMessages({ accountId: 2, pageSize: 2, pageToken });
      expect(page.messages.length).toBeLessThanOrEqual(2);
      seen.push(...ids(page));
      pageToken = page.nextPageToken;
    } while (pageToken);
    expect(seen).toEqual(ids(all));
    const numbers = all.messages.map((m) => Number(m.id));
    expect(numbers).toEqual([...numbers].sort((a, b) => b - a));
  });

  test("direction filters; page size outside 1..500 is limit_out_of_range", async () => {
    expect((await mailbox.listMessages({ accountId: 2, direction: MessageDirection.OUTBOUND })).messages).toEqual([]);
    expect((await mailbox.listMessages({ accountId: 2, direction: MessageDirection.INBOUND, pageSize: 1 })).messages).toHaveLength(1);
    expect(await refusal(mailbox.listMessages({ accountId: 2, pageSize: 501 }))).toMatchObject({
      code: Code.InvalidArgument,
      reason: "LIMIT_OUT_OF_RANGE",
      message: "limit_out_of_range",
      fields: ["page_size"],
    });
    expect((await mailbox.listMessages({ accountId: 2, pageSize: 500 })).messages.length).toBeGreaterThan(0);
    expect((await refusal(mailbox.listMessages({ accountId: 2, query: "x".repeat(201) }))).reason).toBe("QUERY_TOO_LONG");
    expect((await refusal(mailbox.listMessages({ accountId: 2, pageToken: "garbage" }))).reason).toBe("PAGE_TOKEN_INVALID");
  });
});
