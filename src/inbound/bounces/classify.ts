// Why a recipient failed, decided in one place from everything a report says about it: the
// diagnostic text, the enhanced status code (RFC 3463) and the SMTP reply code. Text rules come
// first where the words are specific ("mailbox full" under a 5.x.x is still a full mailbox; "550
// unknown user" is an unknown user whatever a filter adds); the status code tables decide when the
// words say nothing specific. Every pattern is linear: alternatives of literals, bounded gaps.
import type { BounceReason } from "../../message/bounce-reasons.js";

export interface Evidence {
  /** A delay notice's recipient is still being retried: its reason is "delayed", whatever the cause. */
  delayed?: boolean;
  /** Enhanced status code the report gives for the recipient ("5.7.1"), "" when none. */
  status: string;
  /** The Status field of a DSN (the reporting MTA's own summary), when the report has one. */
  fieldStatus?: string;
  /** SMTP reply code ("550"), "" when none. */
  replyCode: string;
  /** The diagnostic text about the recipient (remote reply and the reporter's words), on one line. */
  text: string;
  /** The notice's words around it: read last, when neither the text nor the codes say why. */
  context?: string;
}

type Rule = readonly [BounceReason, RegExp];

/** A rule: any of the phrases (regex sources without nested quantifiers), case-insensitive. */
const rule = (reason: BounceReason, phrases: string[]): Rule => [reason, new RegExp(phrases.join("|"), "i")];

/**
 * Ordered: the first rule whose words appear wins. Refusals of our sender address come first;
 * then the recipient's states (a full mailbox under a 5.7.1 is still full); then what was refused
 * of our IP and message; then the SMTP stage and the vaguer words; the network and the receiving
 * system last. Examples of each are in the unit test.
 */
export const TEXT_RULES: readonly Rule[] = [
  rule("rejected", [
    "sender address rejected",
    "sender was rejected",
    "sender (?:address |domain )?(?:is )?(?:denied|refused|invalid|not allowed)",
    "sender verify failed",
    "domain of sender address",
    "unroutable sender",
    "(?:provide a |in)valid from\\b",
    "address is not verified",
    "relay(?:ing)? (?:access )?(?:denied|not permitted|prohibited)",
    "unable to relay",
    "not (?:permitted|configured|allowed) to relay",
    "we do not relay",
    "open relay",
    "permission to post",
    "not allowed to post",
    "groups\\.google\\.com",
  ]),
  rule("mailbox_full", [
    "mail ?box (?:is )?full",
    "mailbox.{0,30}(?:over|exceed).{0,30}(?:quota|size|limit)",
    "over ?quota",
    "quota (?:exceeded|full)",
    "exceeded .{0,20}storage|exceeded .{0,10}quota",
    "disk quota",
    "(?:mailbox|folder|inbox) (?:is |has )?(?:full|no space)",
    "mailfolder",
    "insufficient (?:disk )?space",
    "full mailbox",
  ]),
  rule("message_too_big", [
    "message (?:size |length )?(?:is )?(?:too (?:big|large)|exceeds)",
    "(?:mail|message) size (?:limit|exceeds)",
    "size limit exceeded",
    "exceeds .{0,30}size limit",
    "too large for",
  ]),
  rule("suspended", [
    "account (?:is |has been )?(?:disabled|suspended|locked|inactive|deactivated|discontinued|frozen)",
    "(?:disabled|suspended|inactive|deactivated) (?:account|mailbox|user|recipient)",
    "mailbox (?:is )?(?:disabled|inactive|suspended|not active|frozen)",
    "account that you tried to reach is (?:disabled|inactive)",
    "user (?:is )?(?:suspended|inactive|disabled)",
    "(?:account|mailbox|user) (?:has )?expired",
    "recipient(?:'s)? account is (?:blocked|locked)",
  ]),
  // A DNS answer that may change (SERVFAIL, "try again") is the network's, not a dead domain.
  rule("network_error", [
    "not found, try again",
    "malformed or unexpected name server reply",
    "temporary (?:dns|lookup|name resolution) failure",
    "servfail",
  ]),
  rule("not_accepted", ["null mx", "does not accept (?:e-?)?mail", "accepts no mail", "not accepting (?:any )?mail"]),
  rule("host_unknown", [
    "domain \\S{1,255} (?:couldn't|could not) be found",
    "host unknown",
    "unknown (?:host|domain)",
    "domain (?:name )?(?:not found|does not exist|doesn't exist|is unknown|unknown)",
    "no such domain",
    "host or domain name not found",
    "host .{1,100} not found",
    "unrout(?:e)?able address",
    "(?:domain|host) (?:lookup|resolution) failed",
    "nxdomain",
    "no mx (?:record )?(?:found|for)",
    "bad destination system",
    "couldn't find any host",
    "non-existent hosts?",
  ]),
  rule("has_moved", [
    "has moved",
    "moved (?:permanently|away)",
    "mailbox (?:has )?moved",
    "address (?:has )?changed",
    "no longer (?:valid|in use|available) at",
  ]),
  rule("user_unknown", [
    "user unknown",
    "unknown (?:user|recipient|local[- ]?part|mailbox|e-?mail address)",
    "unknown address(?! error)",
    "no such (?:user|mailbox|recipient|account|address|person|local user)",
    "(?:user|mailbox|recipient|address|account|addressee)(?: name)? (?:does not|doesn't|did not) exist",
    "(?:account|address|user|mailbox) (?:that )?you tried to reach does not exist",
    "(?:user|recipient|mailbox|address|addressee)(?: address)? (?:not found|not known|unknown|is unknown|invalid|not exist|not valid)",
    "invalid (?:recipient|mailbox|user|address)",
    "recip(?:ient)?notfound",
    "not a valid (?:user|mailbox|recipient)",
    "no mailbox (?:here|by that name)",
    "(?:isn't|is not) a valid (?:user|mailbox|recipient)",
    "doesn't have an? .{1,60} account",
    "recipient name is not recognized",
    "unknown or illegal alias",
    "recipient address rejected: access denied",
    "address (?:you entered )?(?:couldn't|could not|wasn't|was not) (?:be )?found",
    "not listed in (?:the )?(?:public name|domino|directory)",
    "no valid recipients",
    "ディレクトリ(?:には見つかりません|のリストにありません)",
  ]),
  rule("virus_detected", ["virus", "malware", "infected", "trojan", "malicious"]),
  rule("blocked", [
    "blocked using",
    "listed (?:in|on|at|by) ",
    "block ?list",
    "black ?list",
    "spamhaus",
    "spamcop",
    "\\b(?:rbl|dnsbl|uribl)\\b",
    "banned sending ip",
    "reputation",
    "client host .{0,60}(?:rejected|blocked|refused)",
    "client ip",
    "reverse dns",
    "\\brdns\\b",
    "ptr record",
    "dynamic ip",
    "dial-?up",
    "residential ip",
    "smtp server of your isp",
    "(?:weren't|were not) sent",
    "deferred due to",
    "user complaints",
    "\\bSC-00\\d\\b",
    "\\bTSS\\d\\d\\b",
    "sender ip",
    "sending ip",
    "your ip",
    "ip address .{0,30}(?:blocked|rejected|denied)",
    "network not allowed",
    "after initial connection",
    "refused to talk to me",
  ]),
  // Words that say the content was judged to be spam, before the structural content errors.
  rule("spam_detected", ["\\bUBE\\b", "bulk (?:e-?mail|mail) filter", "spam classification"]),
  rule("content_error", [
    "content error",
    "(?:message|mime) (?:header|body|structure) .{0,20}(?:invalid|rejected|malformed)",
    "invalid (?:mime|header|message)",
    "mime (?:error|violation)",
    "headers? (?:error|too long|too large)",
    "duplicate header",
    "multiple \\w{1,20} headers",
    "(?:attachment|file) (?:type )?(?:not allowed|rejected|blocked|prohibited)",
    "illegal (?:attachment|character)",
    "bare (?:lf|linefeed)",
    "not rfc ?5?322",
  ]),
  rule("policy_violation", [
    "dmarc",
    "\\bspf\\b",
    "dkim",
    "domainkeys",
    "authentication (?:checks? )?fail",
    "unauthenticated (?:e-?mail|mail|senders?)",
    "sender policy",
    "policy (?:violation|rejection|reasons)",
    "local policy",
    "security polic",
    "smtp authentication",
  ]),
  rule("spam_detected", ["spam", "junk", "unsolicited", "phishing"]),
  // The SMTP stage a refusal came at: after MAIL FROM it is about the sender.
  rule("rejected", ["after mail from", "in reply to mail from"]),
  rule("rate_limited", [
    "too many (?:connections|messages|recipients|sessions|concurrent|e-?mails|mails)",
    "rate limit",
    "rate-limit",
    "throttl",
    "(?:sending|message|daily|hourly|relay) (?:limit|quota)",
    "connection limit",
    "receiving mail at a rate",
    "too fast",
    "frequency limit",
  ]),
  rule("syntax_error", [
    "syntax error",
    "command (?:not )?(?:recognized|unrecognized)",
    "unrecognized command",
    "bad sequence of commands",
    "need (?:rcpt|mail) command",
    "command out of sequence",
    "invalid command",
  ]),
  rule("filtered", [
    "filtered",
    "rejected by (?:the )?(?:recipient'?s? )?(?:filter|rules)",
    "refused by (?:the )?recipient",
    "not allowed to send to",
  ]),
  // RFC 5321's text for 550: most servers give it for a mailbox that is not there.
  rule("user_unknown", ["mailbox unavailable"]),
  rule("expired", [
    "expired",
    "too long in (?:the )?queue",
    "in the queue too long",
    "retry time(?:out)? (?:not reached|exceeded)",
    "failing for a long time",
    "could not be delivered for \\d",
    "cannot send message for \\d",
    "message could not be delivered for",
    "undeliverable for \\d",
    "delivery time expired",
    "retry timeout",
  ]),
  rule("network_error", [
    "connection (?:timed out|refused|reset|lost|dropped|closed)",
    "timed out",
    "no route to host",
    "network (?:is )?unreachable",
    "(?:host )?(?:is )?(?:not reachable|unreachable)",
    "(?:could not|unable to|couldn't|failed to) connect",
    "requests to connect",
    "connect to .{1,100}: ",
    "lost connection",
    "broken pipe",
    "tls (?:handshake|negotiation)",
    "dns (?:error|failure|lookup)",
    "name server",
    "no mx found",
  ]),
  rule("system_error", [
    "system error",
    "local error",
    "internal (?:server )?error",
    "mail loop",
    "loops? (?:back|detected)",
    "loop alert",
    "too many hops",
    "hop count",
    "mailer error",
    "mail system (?:is )?full",
    "insufficient system storage",
    "disk full",
    "out of (?:disk|memory)",
    "system (?:is )?(?:busy|unavailable)",
    "resources? temporarily unavailable",
    "configuration error",
    "misconfigur",
    "child process",
    "transport returned",
    "pipe to \\|",
    "duplicated message-id",
    "lock failure",
    "error (?:while )?writing",
    "service (?:currently )?unavailable",
  ]),
];

/** RFC 3463 codes (and the common extensions) whose meaning is one reason. */
const STATUS: Readonly<Record<string, BounceReason>> = {
  "1.1": "user_unknown",
  "1.2": "host_unknown",
  "1.3": "user_unknown",
  "1.6": "has_moved",
  "1.7": "rejected",
  "1.8": "rejected",
  "1.10": "not_accepted",
  "2.1": "suspended",
  "2.2": "mailbox_full",
  "2.3": "message_too_big",
  "2.4": "system_error",
  "3.1": "system_error",
  "3.2": "system_error",
  "3.3": "content_error",
  "3.4": "message_too_big",
  "3.5": "system_error",
  "4.4": "host_unknown",
  "4.6": "network_error",
  "4.7": "expired",
  "5.3": "rate_limited",
  "7.1": "policy_violation",
  "7.13": "suspended",
  "7.17": "has_moved",
  "7.18": "has_moved",
  "7.25": "blocked",
  "7.27": "rejected",
};

/** RFC 3463 subjects: what a code of that subject means when its detail is not in STATUS. */
const SUBJECT: Readonly<Record<string, BounceReason>> = {
  "2": "undetermined",
  "3": "system_error",
  "4": "network_error",
  "5": "syntax_error",
  "6": "content_error",
  "7": "policy_violation",
};

export function classify(e: Evidence): BounceReason {
  if (e.delayed) return "delayed";
  // X.4.7: the reporter gave up after retrying, whatever the last attempt met.
  if ([e.status, e.fieldStatus].some((code) => code && /^[45]\.4\.7$/.test(code))) return "expired";
  return (
    byText(e.text) ??
    statusReason(e.status) ??
    statusReason(e.fieldStatus ?? "") ??
    replyReason(e.replyCode) ??
    (e.context === undefined ? undefined : byText(e.context)) ??
    "undetermined"
  );
}

function byText(text: string): BounceReason | undefined {
  return TEXT_RULES.find(([, re]) => re.test(text))?.[0];
}

function statusReason(status: string): BounceReason | undefined {
  const m = /^([245])\.(\d{1,3})\.(\d{1,3})$/.exec(status);
  if (!m || m[1] === "2") return undefined;
  const [, cls, subject, detail] = m as unknown as [string, string, string, string];
  // X.4.4 "unable to route": the domain is gone when permanent, the way to it when transient.
  if (subject === "4" && detail === "4") return cls === "5" ? "host_unknown" : "network_error";
  // Microsoft's X.7.5xx are authentication refusals, X.7.6xx refusals of the sending IP.
  if (subject === "7" && /^5\d\d$/.test(detail)) return "policy_violation";
  if (subject === "7" && /^6\d\d$/.test(detail)) return "blocked";
  if (subject === "7" && Number(detail) >= 20 && Number(detail) <= 26 && detail !== "25") return "policy_violation";
  // X.Y.0 says only its subject: enough for security (X.7.0), not for the vaguer ones.
  return STATUS[`${subject}.${detail}`] ?? (detail === "0" && subject !== "7" ? undefined : SUBJECT[subject]);
}

function replyReason(code: string): BounceReason | undefined {
  return /^50[0-4]$/.test(code) ? "syntax_error" : undefined;
}
