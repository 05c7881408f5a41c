// Counts and lengths are checked before any element is parsed: a request over a limit is refused
// for that alone, and none of its elements is looked at (no address or filename violation is
// reported however bad they are).
import { afterAll, beforeAll, expect, test } from "vitest";
import { Code } from "@connectrpc/connect";
import { EmailService } from "../../gen/email/v1/email_service_pb.js";
import { checkSizes, MAX_RECIPIENTS } from "../../src/api/handlers/validate.js";
import { sinkAccount, startTestApp, type TestApp } from "../helpers/app.js";
import { refusal } from "../helpers/refusal.js";
import { keyedClient } from "../security/keys.js";

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ label: "cheap_checks", background: false, json: { accounts: [sinkAccount(1, 1)] } });
});
afterAll(async () => {
  await t?.close();
});

const BAD_ADDRESS = "not an address\u2028";

test("100,000 unparseable recipients: only TOO_MANY_RECIPIENTS", async () => {
  const r = await refusal(
    keyedClient(EmailService, t.url, undefined).send({
      accountId: 1,
      to: Array.from({ length: 100_000 }, () => BAD_ADDRESS),
      subject: "s",
      bodyText: "b",
    }),
  );
  expect([r.code, r.reason, r.fields]).toEqual([Code.InvalidArgument, "TOO_MANY_RECIPIENTS", ["to"]]);
});

test("every size limit is reported together, before the elements", async () => {
  const r = await refusal(
    keyedClient(EmailService, t.url, undefined).send({
      accountId: 1,
      to: [BAD_ADDRESS],
      cc: Array.from({ length: MAX_RECIPIENTS }, () => BAD_ADDRESS),
      subject: "\u2028".repeat(999),
      bodyText: "b",
      idempotencyKey: "k".repeat(257),
      attachments: Array.from({ length: 33 }, () => ({ filename: "\u202e", contentType: "x/y", content: Buffer.from("") })),
    }),
  );
  expect(r.fields).toEqual(["to", "subject", "idempotency_key", "attachments"]);
});

test("checkSizes checks one message from its counts and lengths", () => {
  const base = { subject: "s", bodyText: "b", bodyHtml: "", idempotencyKey: "", attachments: 0 };
  expect(() => checkSizes({ ...base, recipients: MAX_RECIPIENTS })).not.toThrow();
  expect(() => checkSizes({ ...base, recipients: MAX_RECIPIENTS + 1 })).toThrow(/at most 50 recipients/);
  expect(() => checkSizes({ ...base, bodyText: "x".repeat(10 * 1024 * 1024 + 1) })).toThrow(/at most 10485760 bytes/);
});
