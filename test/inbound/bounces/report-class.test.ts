// The class a report puts a recipient in: the reason's class, lowered to soft where the report
// does not show the address is dead. Pure logic.
import { expect, test } from "vitest";
import { parseReasonClasses } from "../../../src/config/reason-classes.js";
import { reportClass } from "../../../src/inbound/bounces/report-class.js";

const r = (reason: Parameters<typeof reportClass>[1]["reason"], status: string, replyCode = "550", stage?: "rcpt" | "data") => ({
  reason,
  status,
  replyCode,
  ...(stage ? { stage } : {}),
});

test.each([
  ["user unknown, 5.1.1", r("user_unknown", "5.1.1"), "suppress"],
  ["user unknown refusing RCPT, no detail in the code", r("user_unknown", "5.0.0", "550", "rcpt"), "suppress"],
  ["user unknown at DATA, even with 5.1.1", r("user_unknown", "5.1.1", "550", "data"), "soft"],
  ["user unknown with only a reply code", r("user_unknown", "5.0.0"), "soft"],
  ["user unknown with 5.2.1 (mailbox disabled)", r("user_unknown", "5.2.1"), "soft"],
  ["host unknown, permanent", r("host_unknown", "5.1.2", ""), "suppress"],
  ["Null MX given up on with a transient code", r("not_accepted", "4.0.0", ""), "soft"],
  ["a 4xx reply with a 5.x.x code", r("host_unknown", "5.1.2", "450"), "soft"],
  ["blocked stays sender-side", r("blocked", "5.7.1"), "sender"],
  ["mailbox full stays soft", r("mailbox_full", "5.2.2"), "soft"],
  ["a complaint suppresses whatever its status", r("complaint", "abuse", ""), "suppress"],
] as const)("%s", (_, outcome, want) => {
  expect(reportClass({}, outcome)).toBe(want);
});

test("an account's override is the starting class, then the same checks apply", () => {
  const parsed = parseReasonClasses({ mailbox_full: "suppress", user_unknown: "soft" }, "account 1: suppression.reason_classes");
  if ("error" in parsed) throw new Error(parsed.error);
  const account = { reasonClasses: parsed.classes };
  expect(reportClass(account, r("mailbox_full", "5.2.2"))).toBe("suppress");
  expect(reportClass(account, r("mailbox_full", "4.2.2", "452"))).toBe("soft");
  expect(reportClass(account, r("user_unknown", "5.1.1"))).toBe("soft");
});
