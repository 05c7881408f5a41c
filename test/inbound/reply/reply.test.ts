// Reply end to end: parents ingested (or sent by us), replies delivered to a real SMTP sink and
// read back by mailparser and by Python's standard email parser.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { Code, createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { EmailService } from "../../../gen/email/v1/email_service_pb.js";
import { MailboxService, MessageDirection } from "../../../gen/email/v1/mailbox_service_pb.js";
import { OutboxStatus, type Outbox } from "../../../gen/email/v1/outbox_pb.js";
import { startSmtpSink, type ReceivedMessage, type SmtpSink } from "../../helpers/smtp-sink.js";
import { sinkAccount, startTestApp, type TestApp } from "../../helpers/app.js";
import { refusal } from "../../helpers/refusal.js";
import { rawMail, type RawMail } from "../mailbox/raw-mail.js";
import { headerLines, parseBoth, type Delivered } from "./parse-delivered.js";

let sink: SmtpSink;
let t: TestApp;
let email: Client<typeof EmailService>;
let mailbox: Client<typeof MailboxService>;

/** A 4xx for this recipient makes an attempt fail transiently, while `failing` is set. */
const FLAKY = "flaky@client.example";
let failing = true;

beforeAll(async () => {
  sink = await startSmtpSink({
    script: (stage, ctx) => (stage === "rcptTo" && ctx.address === FLAKY && failing ? { code: 451, message: "try later" } : undefined),
  });
  t = await startTestApp({
    label: "reply",
    json: { accounts: [sinkAccount(1, sink.port), sinkAccount(2, sink.port)], message_id_domain: "mail.test" },
  });
  const transport = createConnectTransport({ baseUrl: t.url, httpVersion: "1.1" });
  email = createClient(EmailService, transport);
  mailbox = createClient(MailboxService, transport);
});
afterAll(async () => {
  await t?.close();
  await sink?.close();
});

const MSG_ID = /^<[^<>@\s]+@[^<>@\s]+>$/;

async function ingest(m: RawMail, accountId = 1) {
  const res = await mailbox.ingestMessage({ accountId, raw: rawMail(m) });
  return res.message!;
}

/** Replies, waits for the attempt, and returns the outbox row and the delivered message. */
async function reply(req: {
  inReplyToMessageId: string;
  accountId?: number;
  replyAll?: boolean;
}): Promise<{ outbox: Outbox; msg: ReceivedMessage }> {
  const res = await email.reply({ accountId: 1, bodyText: "Thanks.", waitForAttempt: true, ...req });
  expect(res.outbox?.status).toBe(OutboxStatus.SENT);
  const msg = sink.messages.find((m) => m.messageId === res.outbox!.messageId);
  expect(msg).toBeDefined();
  return { outbox: res.outbox!, msg: msg! };
}

/** Both parsers read the same headers; every Message-ID is "<local@domain>". Returns them. */
async function readBack(msg: ReceivedMessage): Promise<Delivered> {
  const { python, mailparser } = await parseBoth(msg.raw);
  expect(python.defects).toEqual([]);
  const { defects: _d, headerCount, ...pythonFields } = python;
  expect(pythonFields).toEqual(mailparser);
  for (const name of ["to", "subject", "in-reply-to", "references", "message-id"]) expect(headerCount[name] ?? 0).toBeLessThanOrEqual(1);
  for (const id of [mailparser.messageId, mailparser.inReplyTo, ...mailparser.references]) expect(id).toMatch(MSG_ID);
  return mailparser;
}

describe("threading headers (reference §5)", () => {
  test("References = parent's references + parent id: <a@x> <b@x> + <c@x>", async () => {
    await ingest({ messageId: "<c@x>", references: "<a@x> <b@x>", subject: "Vector one" });
    const { msg } = await reply({ inReplyToMessageId: "<c@x>" });
    const d = await readBack(msg);
    expect(d.references).toEqual(["<a@x>", "<b@x>", "<c@x>"]);
    expect(d.inReplyTo).toBe("<c@x>");
    expect(d.to).toEqual(["customer@client.example"]);
    expect(d.subject).toBe("Re: Vector one");
  });

  test("the parent id already last is not repeated: <a@x> <c@x> + <c@x>", async () => {
    await ingest({ messageId: "<c@x>", references: "<a@x> <c@x>" }, 2);
    const { msg } = await reply({ accountId: 2, inReplyToMessageId: "c@x" });
    const d = await readBack(msg);
    expect(d.references).toEqual(["<a@x>", "<c@x>"]);
    expect(d.inReplyTo).toBe("<c@x>");
    expect(d.subject).toBe("Re: (no subject)");
  });

  test("a parent with In-Reply-To but no References continues the chain from it", async () => {
    await ingest({ messageId: "<irt-only@client.example>", inReplyTo: "<root@mail.test>" });
    const d = await readBack((await reply({ inReplyToMessageId: "<irt-only@client.example>" })).msg);
    expect(d.references).toEqual(["<root@mail.test>", "<irt-only@client.example>"]);
  });

  test("a 30-id References header is folded: every line at most 78 characters, all ids kept", async () => {
    const chain = Array.from({ length: 29 }, (_, i) => `<thread-${String(i).padStart(2, "0")}-a1b2c3d4e5f6@long-domain.client.example>`);
    await ingest({ messageId: "<thread-29-a1b2c3d4e5f6@long-domain.client.example>", references: chain.join(" ") });
    const { msg } = await reply({ inReplyToMessageId: "<thread-29-a1b2c3d4e5f6@long-domain.client.example>" });
    const d = await readBack(msg);
    expect(d.references).toEqual([...chain, "<thread-29-a1b2c3d4e5f6@long-domain.client.example>"]);
    const lines = headerLines(msg.raw);
    const refStart = lines.findIndex((l) => l.startsWith("References:"));
    expect(lines[refStart + 1]).toMatch(/^[ \t]/); // folded onto continuation lines
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(78);
  });
});

describe("subject and recipients", () => {
  test.each([
    ["Re: Re: Invoice 7", "Re: Invoice 7"],
    ["RE:x", "Re: x"],
    ["re :  Re: y", "Re: y"],
    ["=?utf-8?Q?R=C3=A9union?=", "Re: Réunion"],
  ])("parent subject %j -> %j", async (subject, expected) => {
    const id = `<subject-${Buffer.from(subject).toString("hex")}@client.example>`;
    await ingest({ messageId: id, subject });
    const d = await readBack((await reply({ inReplyToMessageId: id })).msg);
    expect(d.subject).toBe(expected);
  });

  test("a CR/LF hidden in an encoded-word subject stays inside the subject", async () => {
    await ingest({ messageId: "<inject@client.example>", subject: "=?utf-8?Q?hi=0D=0ABcc:_evil@attacker.example?=" });
    const { msg } = await reply({ inReplyToMessageId: "<inject@client.example>" });
    const { python } = await parseBoth(msg.raw);
    expect(python.subject).toBe("Re: hi  Bcc: evil@attacker.example");
    expect(python.headerCount.bcc).toBeUndefined();
    expect(msg.envelope.to).toEqual(["customer@client.example"]);
  });

  test("Reply-To is honoured over From", async () => {
    await ingest({ messageId: "<rt@client.example>", replyTo: "Support Queue <queue@client.example>" });
    const { msg } = await reply({ inReplyToMessageId: "<rt@client.example>" });
    expect((await readBack(msg)).to).toEqual(["queue@client.example"]);
    expect(msg.envelope.to).toEqual(["queue@client.example"]);
  });

  test("reply_all adds the parent's To and Cc without our own address and without duplicates", async () => {
    await ingest({
      messageId: "<all@client.example>",
      from: "Alice <alice@client.example>",
      to: `"Account 1" <SENDER1@example.com>, Bob <bob@client.example>, alice@client.example`,
      cc: "BOB@client.example, carol@client.example, sender1@EXAMPLE.com",
    });
    const { msg } = await reply({ inReplyToMessageId: "<all@client.example>", replyAll: true });
    const d = await readBack(msg);
    expect(d.to).toEqual(["alice@client.example", "bob@client.example"]);
    expect(d.cc).toEqual(["carol@client.example"]);
    expect([...msg.envelope.to].sort()).toEqual(["alice@client.example", "bob@client.example", "carol@client.example"]);

    const single = await reply({ inReplyToMessageId: "<all@client.example>" });
    expect(single.msg.envelope.to).toEqual(["alice@client.example"]);
  });

  test("a reply to a message we sent goes to its recipients, not to ourselves", async () => {
    const sent = await email.send({
      accountId: 1,
      to: ["Bob <bob@client.example>", "carol@client.example"],
      cc: ["dave@client.example"],
      subject: "Our news",
      bodyText: "News.",
      waitForAttempt: true,
    });
    expect(sent.outbox?.status).toBe(OutboxStatus.SENT);
    const recorded = (await mailbox.getMessage({ accountId: 1, messageId: sent.outbox!.messageId })).message!;
    expect(recorded.direction).toBe(MessageDirection.OUTBOUND);
    expect(recorded.outboxId).toBe(sent.outbox!.outboxId);
    expect(recorded.from).toBe("Account 1 <sender1@example.com>");

    const plain = await readBack((await reply({ inReplyToMessageId: sent.outbox!.messageId })).msg);
    expect(plain.to).toEqual(["bob@client.example", "carol@client.example"]);
    expect(plain.cc).toEqual([]);
    expect(plain.subject).toBe("Re: Our news");
    const all = await readBack((await reply({ inReplyToMessageId: sent.outbox!.messageId, replyAll: true })).msg);
    expect(all.cc).toEqual(["dave@client.example"]);
  });

  test("a parent without a usable sender is refused with the reference's message", async () => {
    await ingest({ messageId: "<nosender@client.example>", from: "undisclosed-recipients:;" });
    const r = await refusal(email.reply({ accountId: 1, inReplyToMessageId: "<nosender@client.example>", bodyText: "x" }));
    expect(r).toMatchObject({ code: Code.FailedPrecondition, message: "cannot infer reply recipient from parent sender" });
  });
});

describe("the thread", () => {
  test("ingest -> reply -> ingest the answer -> reply again keeps the full chain", async () => {
    await ingest({ messageId: "<m1@client.example>", subject: "Order 42 is late" });
    const first = await reply({ inReplyToMessageId: "<m1@client.example>" });
    const r1 = first.outbox.messageId;
    expect(r1).toMatch(MSG_ID);
    expect((await readBack(first.msg)).references).toEqual(["<m1@client.example>"]);

    // The customer answers our reply, quoting the chain as mail clients do.
    await ingest({
      messageId: "<m2@client.example>",
      subject: `Re: Order 42 is late`,
      inReplyTo: r1,
      references: `<m1@client.example> ${r1}`,
    });
    const second = await reply({ inReplyToMessageId: "<m2@client.example>" });
    const d = await readBack(second.msg);
    expect(d.inReplyTo).toBe("<m2@client.example>");
    expect(d.references).toEqual(["<m1@client.example>", r1, "<m2@client.example>"]);
    expect(d.subject).toBe("Re: Order 42 is late");
    expect(d.to).toEqual(["customer@client.example"]);

    // Our second reply is itself a recorded parent, with the chain stored.
    const stored = (await mailbox.getMessage({ accountId: 1, messageId: second.outbox.messageId })).message!;
    expect(stored.references).toEqual(["<m1@client.example>", r1, "<m2@client.example>"]);
    expect(stored.inReplyTo).toBe("<m2@client.example>");
  });
});

describe("isolation and durability", () => {
  test("a parent held by account 2 is invisible to account 1", async () => {
    await ingest({ messageId: "<only-in-two@client.example>" }, 2);
    const r = await refusal(email.reply({ accountId: 1, inReplyToMessageId: "<only-in-two@client.example>", bodyText: "x" }));
    expect(r).toMatchObject({
      code: Code.NotFound,
      reason: "PARENT_NOT_FOUND",
      message: "in_reply_to_message_id does not exist for this account",
    });
    expect((await refusal(mailbox.getMessage({ accountId: 1, messageId: "<only-in-two@client.example>" }))).code).toBe(Code.NotFound);
    const listed = await mailbox.listMessages({ accountId: 1, pageSize: 500 });
    expect(listed.messages.map((m) => m.messageId)).not.toContain("<only-in-two@client.example>");
    await reply({ accountId: 2, inReplyToMessageId: "<only-in-two@client.example>" });
  });

  test("empty fields are refused with the reference's message", async () => {
    for (const req of [
      { inReplyToMessageId: " ", bodyText: "x" },
      { inReplyToMessageId: "<a@x>", bodyText: "" },
    ]) {
      const r = await refusal(email.reply({ accountId: 1, ...req }));
      expect(r).toMatchObject({ code: Code.InvalidArgument, message: "in_reply_to_message_id/body_text cannot be empty" });
    }
  });

  test("a retry after the parent was deleted still carries the threading headers", async () => {
    await ingest({ messageId: "<doomed@client.example>", from: FLAKY, references: "<root@client.example>", subject: "Doomed" });
    failing = true;
    const res = await email.reply({
      accountId: 1,
      inReplyToMessageId: "<doomed@client.example>",
      bodyText: "Retry me.",
      waitForAttempt: true,
    });
    expect(res.outbox?.status).toBe(OutboxStatus.FAILED);

    await t.app.pool.query("DELETE FROM mail_message WHERE account_id = 1 AND message_id = '<doomed@client.example>'");
    expect((await refusal(mailbox.getMessage({ accountId: 1, messageId: "<doomed@client.example>" }))).code).toBe(Code.NotFound);

    failing = false;
    const retried = await email.retryOutbox({ outboxId: res.outbox!.outboxId, force: true });
    expect(retried.outbox?.status).toBe(OutboxStatus.SENT);
    const msg = sink.messages.find((m) => m.messageId === retried.outbox!.messageId)!;
    const d = await readBack(msg);
    expect(d.messageId).toBe(`<outbox-${res.outbox!.outboxId}-1@mail.test>`);
    expect(d.inReplyTo).toBe("<doomed@client.example>");
    expect(d.references).toEqual(["<root@client.example>", "<doomed@client.example>"]);
    expect(d.subject).toBe("Re: Doomed");
    expect(d.to).toEqual([FLAKY]);
  });
});
