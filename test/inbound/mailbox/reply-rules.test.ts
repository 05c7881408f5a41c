// The pure rules behind Reply: recipients, subject length, References trimming, stored ids.
import { describe, expect, test } from "vitest";
import { contentHashId, storedMessageId } from "../../../src/inbound/mailbox/message-id.js";
import { MAX_REFERENCES_CHARS, replyHeaders, trimReferences, type ReplyParent } from "../../../src/inbound/mailbox/reply.js";
import { clipUtf8, headerText } from "../../../src/inbound/mailbox/text.js";

const OWN = "Support <support@us.example>";

function parent(p: Partial<ReplyParent>): ReplyParent {
  return {
    direction: "inbound",
    messageId: "<p@client.example>",
    from: "alice@client.example",
    replyTo: [],
    to: [],
    cc: [],
    subject: "Hello",
    inReplyTo: null,
    references: [],
    ...p,
  };
}

describe("replyHeaders", () => {
  test("a Reply-To that is only ourselves falls back to From", () => {
    const h = replyHeaders(parent({ replyTo: ["SUPPORT@us.example"] }), OWN, false);
    expect(h?.to).toEqual(["alice@client.example"]);
  });

  test("mail received from our own address is treated as ours: it goes to its To", () => {
    const h = replyHeaders(parent({ from: "Support <support@US.example>", to: ["bob@client.example"] }), OWN, false);
    expect(h?.to).toEqual(["bob@client.example"]);
  });

  test("a sent message with only Cc recipients is answered to them", () => {
    expect(replyHeaders(parent({ direction: "outbound", from: OWN, cc: ["carol@client.example"] }), OWN, false)?.to).toEqual([
      "carol@client.example",
    ]);
  });

  test("addresses Send would refuse are skipped; none left means no recipient", () => {
    expect(replyHeaders(parent({ from: "not an address" }), OWN, true)).toBeUndefined();
    expect(replyHeaders(parent({ from: null, to: ["bob@client.example"] }), OWN, true)).toBeUndefined();
    const h = replyHeaders(parent({ to: ["broken@", "Bob <bob@client.example>"] }), OWN, true);
    expect(h?.to).toEqual(["alice@client.example", `"Bob" <bob@client.example>`]);
  });

  test("the reply subject never exceeds 998 bytes", () => {
    const h = replyHeaders(parent({ subject: "é".repeat(499) }), OWN, false)!;
    expect(Buffer.byteLength(h.subject)).toBeLessThanOrEqual(998);
    expect(h.subject.startsWith("Re: é")).toBe(true);
  });
});

describe("trimReferences", () => {
  test("keeps the thread's first id and the newest ones within the limit", () => {
    const ids = Array.from({ length: 1000 }, (_, i) => `<ref-${i}-0123456789abcdef@client.example>`);
    const kept = trimReferences(ids);
    expect(kept[0]).toBe(ids[0]);
    expect(kept[kept.length - 1]).toBe(ids[999]);
    expect(kept.join(" ").length).toBeLessThanOrEqual(MAX_REFERENCES_CHARS);
    expect(kept.length).toBeGreaterThan(100);
    expect(ids.slice(1000 - (kept.length - 1))).toEqual(kept.slice(1));
    expect(trimReferences(ids.slice(0, 5))).toEqual(ids.slice(0, 5));
  });
});

describe("stored Message-IDs", () => {
  test("a usable header id is normalised; anything else becomes the content hash", () => {
    const raw = Buffer.from("Subject: x\r\n\r\nbody\r\n");
    expect(storedMessageId(" <a@b.example> ", raw)).toBe("<a@b.example>");
    for (const bad of [undefined, "", "no-at-sign", "<a@b> <c@d>", "<é@b.example>"])
      expect(storedMessageId(bad, raw)).toBe(contentHashId(raw));
    expect(contentHashId(Buffer.from("Subject: x\n\nbody\n\n"))).toBe(contentHashId(raw));
  });
});

describe("header text", () => {
  test("controls become spaces and UTF-8 is cut between characters", () => {
    expect(headerText(" a\r\nb\0c ")).toBe("a  b c");
    expect(clipUtf8("aé€", 4)).toBe("aé");
    expect(clipUtf8("aé€", 6)).toBe("aé€");
  });
});
