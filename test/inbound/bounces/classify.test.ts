// The reason of a failed recipient, decided from its words, its enhanced status code and its
// SMTP reply code: each text rule's examples (real wordings), the status tables when the words
// say nothing, and the cases the taxonomy was made for.
import { expect, test } from "vitest";
import { classify, TEXT_RULES } from "../../../src/inbound/bounces/classify.js";
import type { BounceReason } from "../../../src/message/bounce-reasons.js";

/** [diagnostic text, reason]: the status and reply code are those of the text, if any. */
const BY_WORDS: [string, BounceReason][] = [
  // Our sender address or relaying refused, whatever else is said.
  ["550 5.1.8 <bounce@example.com>: Sender address rejected: Domain not found", "rejected"],
  ["Connected to 192.0.2.225 but sender was rejected. Remote host said: 550 5.7.1 <root@example.jp>... Access denied", "rejected"],
  ["554 5.7.1 <x@example.org>: Relay access denied", "rejected"],
  ["501 5.7.1 This system is not configured to relay mail from <a@example.com> to <x@example.jp>", "rejected"],
  ["554 Message rejected: Email address is not verified. The following identities failed the check: a@example.com", "rejected"],
  ["550 5.2.0 <a@example.com> From: Domain is invalid. Please provide a valid From:", "rejected"],
  ["The group you tried to contact (sales) may not exist, or you may not have permission to post messages to the group.", "rejected"],
  // The recipient's mailbox and address.
  ["552 5.2.2 <x@example.org>: Recipient address rejected: Mailbox full", "mailbox_full"],
  ["550 5.7.1 <x@example.org>: mailbox is full", "mailbox_full"],
  ["maildrop: maildir over quota.", "mailbox_full"],
  ["552 Requested mail action aborted: exceeded storage allocation", "mailbox_full"],
  ["User mailbox exceeds allowed size: x@example.co.jp", "mailbox_full"],
  ["552 5.3.4 Message size exceeds fixed maximum message size", "message_too_big"],
  ["Mail size limit exceeded. For explanation visit http://postmaster.example.com/en/error-messages", "message_too_big"],
  ["550 5.2.1 The email account that you tried to reach is disabled.", "suspended"],
  ["vdelivermail: account is locked email bounced", "suspended"],
  ["550 5.5.0 Le compte du destinataire est bloque. The recipient account is blocked.", "suspended"],
  ["Name service error for name=example.org type=MX: Malformed or unexpected name server reply", "network_error"],
  ["Name service error for domain example.com: Host not found, try again", "network_error"],
  ["550 5.1.2 <x@example.org>... Host unknown (Name server: example.org: host not found)", "host_unknown"],
  ["x@neko.example.jp: Domain does not exist", "host_unknown"],
  ["DNS Error: DNS type 'mx' lookup of example.comn responded with code NXDOMAIN", "host_unknown"],
  ["Unrouteable address", "host_unknown"],
  ["No mx record found for domain=example.org", "host_unknown"],
  ["Your message wasn't delivered to x@example.org because the domain example.org couldn't be found.", "host_unknown"],
  ["Sorry, I couldn't find any host named example.org. (#5.1.2)", "host_unknown"],
  ["all relevant MX records point to non-existent hosts", "host_unknown"],
  ["The domain example.org doesn't receive email according to the administrator: returned Null MX", "not_accepted"],
  ["551 User has moved; please try <new@example.org>", "has_moved"],
  ["550 5.1.1 <x@example.org>: Recipient address rejected: User unknown in local recipient table", "user_unknown"],
  ["550 Unknown user x@example.org", "user_unknown"],
  ["550 <x@example.org> No such user here", "user_unknown"],
  ["550-5.1.1 The email account that you tried to reach does not exist.", "user_unknown"],
  ["554 delivery error: dd This user doesn't have a yahoo.com account (x@yahoo.com) [0]", "user_unknown"],
  ["550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup", "user_unknown"],
  ["The recipient name is not recognized", "user_unknown"],
  ["Your message wasn't delivered to x@example.it because the address couldn't be found.", "user_unknown"],
  ["550 5.4.1 Recipient address rejected: Access denied. AS(201806281)", "user_unknown"],
  ["ユーザー Neko (x@example.co.jp) は Domino ディレクトリには見つかりません。", "user_unknown"],
  ["User not listed in public Name & Address Book", "user_unknown"],
  ["Error: No valid recipients for this MM", "user_unknown"],
  // A recipient unknown is unknown, even when a filter's word is there too.
  ["550 Unknown user x@example.org (message filtered)", "user_unknown"],
  // What was refused of our IP and our message.
  ["554 5.7.0 Message rejected: virus found (Eicar-Test-Signature)", "virus_detected"],
  ["554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org", "blocked"],
  ["550 5.7.606 Access denied, banned sending IP [192.0.2.225]", "blocked"],
  ["550 5.7.1 IP address blacklisted by recipient", "blocked"],
  ["550 5.7.25 <x@example.org>: Recipient address rejected: Reverse DNS validation failed", "blocked"],
  ["550 SC-004 Unfortunately, messages from 192.0.2.1 weren't sent.", "blocked"],
  ["421 4.7.0 [TSS04] Messages from 192.0.2.25 temporarily deferred due to unexpected volume or user complaints", "blocked"],
  ["SMTP error from remote mail server after initial connection: 550 Access denied", "blocked"],
  ["550 5.7.0 <a@example.jp>... Please use the smtp server of your ISP.", "blocked"],
  ["550 5.7.1 Message content rejected, UBE, id=00000-22-225", "spam_detected"],
  ["Message you sent blocked by our bulk email filter", "spam_detected"],
  ["552 5.6.0 Headers too large (3 max)", "content_error"],
  ["554 Transaction failed: Duplicate header 'DKIM-Signature'.", "content_error"],
  ["550 5.7.1 This message is not RFC 5322 compliant. There are multiple Subject headers.", "content_error"],
  ["550 5.7.26 Unauthenticated email from example.jp is not accepted due to domain's DMARC policy.", "policy_violation"],
  ["550 5.7.26 The MAIL FROM domain [example.jp] has an SPF record with a hard fail policy (-all)", "policy_violation"],
  ["550 5.7.509 Access denied, sending domain [EXAMPLE.JP] does not pass DMARC verification", "policy_violation"],
  ["550 5.7.26 <x@example.org>: Recipient address rejected: Multiple authentication checks failed", "policy_violation"],
  ["530 5.7.0 Please turn on SMTP Authentication in your mail client", "policy_violation"],
  ["550 5.7.1 Message rejected as spam by Content Filtering.", "spam_detected"],
  // The SMTP stage, and the vaguer words.
  ["SMTP error from remote mail server after MAIL FROM:<a@example.com> SIZE=1024: 553 5.1.0 refused", "rejected"],
  ["452 4.5.3 Too many recipients", "rate_limited"],
  ["550 Ip frequency limited", "rate_limited"],
  ["554 neko : CAT : You've reached your daily relay quota - 20", "rate_limited"],
  ["500 5.5.2 Syntax error, command unrecognized", "syntax_error"],
  ["503 5.5.1 Error: need RCPT command", "syntax_error"],
  ["550 5.7.1 Message rejected by the recipient's filter rules", "filtered"],
  ["550 Requested action not taken: mailbox unavailable", "user_unknown"],
  // Time, the network, the receiving system.
  ["Message could not be delivered for 5 days", "expired"],
  ["all hosts have been failing for a long time and were last tried after this message arrived", "expired"],
  ["I'm not going to try again; this message has been in the queue too long.", "expired"],
  ["mailbox is full: retry timeout exceeded", "mailbox_full"],
  ["connect to mx.example.org[192.0.2.2]:25: No route to host", "network_error"],
  ["The recipient server did not accept our requests to connect.", "network_error"],
  ["Error, ERROR_CODE :421, Host not reachable.", "network_error"],
  ["554 5.4.6 Too many hops", "system_error"],
  ["mail for example.org loops back to myself", "system_error"],
  ["Child process of local_delivery transport returned 75 (could mean temporary error)", "system_error"],
  ['procmail: Lock failure on "/var/mail/x.lock"', "system_error"],
  ["554 Service currently unavailable", "system_error"],
];

const evidence = (text: string) => ({
  text,
  status: /(?<![\w.])[245]\.\d{1,3}\.\d{1,3}/.exec(text)?.[0] ?? "",
  replyCode: /^[245]\d\d(?=[ -])/.exec(text)?.[0] ?? "",
});

test.each(BY_WORDS)("%s -> %s", (text, reason) => {
  expect(classify(evidence(text))).toBe(reason);
});

test("every text rule is exercised by an example above, as the first rule it meets", () => {
  const first = (text: string) => TEXT_RULES.findIndex(([, re]) => re.test(text));
  const covered = new Set(BY_WORDS.map(([text]) => first(text)));
  expect(TEXT_RULES.map((_, i) => i).filter((i) => !covered.has(i))).toEqual([]);
});

test.each<[string, string, BounceReason]>([
  // When the words say nothing specific, the code's subject and detail (RFC 3463 and extensions).
  ["5.1.1", "", "user_unknown"],
  ["5.1.2", "", "host_unknown"],
  ["5.1.6", "", "has_moved"],
  ["5.1.10", "", "not_accepted"],
  ["5.1.8", "", "rejected"],
  ["5.2.1", "", "suspended"],
  ["5.2.2", "", "mailbox_full"],
  ["5.3.4", "", "message_too_big"],
  ["5.4.4", "", "host_unknown"],
  ["4.4.4", "", "network_error"],
  ["5.4.7", "", "expired"],
  ["5.5.3", "", "rate_limited"],
  ["5.6.1", "", "content_error"],
  ["5.7.0", "", "policy_violation"],
  ["5.7.1", "", "policy_violation"],
  ["5.7.13", "", "suspended"],
  ["5.7.25", "", "blocked"],
  ["5.7.26", "", "policy_violation"],
  ["5.7.509", "", "policy_violation"],
  ["5.7.606", "", "blocked"],
  ["5.0.0", "", "undetermined"],
  ["5.2.0", "550", "undetermined"],
  ["5.0.0", "503", "syntax_error"],
])("status %s, reply %s, no telling words -> %s", (status, replyCode, reason) => {
  expect(classify({ status, replyCode, text: `${replyCode} ${status} Requested action not taken`.trim() })).toBe(reason);
});

test("a 5.7.1 is blocked, spam or policy by its words", () => {
  const at = (text: string) => classify({ status: "5.7.1", replyCode: "550", text: `550 5.7.1 ${text}` });
  expect(at("Client host [192.0.2.1] blocked using bl.spamcop.net")).toBe("blocked");
  expect(at("Message rejected as spam")).toBe("spam_detected");
  expect(at("Delivery not authorized, message refused")).toBe("policy_violation");
});

test("a DSN's X.4.7 (gave up after retrying) is expired, whatever the last reply said", () => {
  expect(classify({ status: "4.4.2", fieldStatus: "4.4.7", replyCode: "421", text: "421 4.4.2 Connection timed out" })).toBe("expired");
});

test("a delay notice's recipient is delayed; the notice's words decide only when the text and the codes say nothing", () => {
  expect(classify({ delayed: true, status: "4.2.2", replyCode: "452", text: "452 4.2.2 Mailbox full" })).toBe("delayed");
  const notice = "The user(s) account is disabled.";
  expect(classify({ status: "5.0.0", replyCode: "", text: "<x@example.jp>", context: notice })).toBe("suspended");
  expect(classify({ status: "5.0.0", replyCode: "550", text: "550 5.0.0 User unknown", context: notice })).toBe("user_unknown");
  expect(classify({ status: "5.2.2", replyCode: "", text: "<x@example.jp>", context: notice })).toBe("mailbox_full");
});
