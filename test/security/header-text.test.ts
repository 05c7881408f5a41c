// One rule for every header-bound text a client sets: no C0 (TAB included), DEL, C1,
// U+2028/U+2029 and no bidirectional controls in subjects, display names, custom header values
// and filenames (controls in addresses too), each refused with the same reason and nothing written.
import { afterAll, beforeAll, expect, test } from "vitest";
import { Code } from "@connectrpc/connect";
import { EmailService } from "../../gen/email/v1/email_service_pb.js";
import { sinkAccount, startTestApp, type TestApp } from "../helpers/app.js";
import { refusal } from "../helpers/refusal.js";
import { rowCounts } from "../api/attachments/helpers.js";
import { keyedClient } from "./keys.js";

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ label: "header_text", background: false, json: { accounts: [sinkAccount(1, 1)] } });
});
afterAll(async () => {
  await t?.close();
});

const CONTROLS: [string, string][] = [
  ["TAB", "\t"],
  ["DEL", "\x7f"],
  ["NEL (C1)", "\u0085"],
  ["CSI (C1)", "\u009b"],
  ["U+2028", "\u2028"],
  ["U+2029", "\u2029"],
];
const BIDI: [string, string][] = [
  ["U+202A", "\u202a"],
  ["U+202E", "\u202e"],
  ["U+2066", "\u2066"],
  ["U+2069", "\u2069"],
];
const GOOD = { accountId: 1, to: ["bob@example.com"], subject: "s", bodyText: "b" };
const file = (filename: string) => ({ filename, contentType: "text/plain", content: Buffer.from("x") });

const cases: [string, Record<string, unknown>, string][] = [
  ...CONTROLS.map(([name, c]): [string, Record<string, unknown>, string] => [`${name} in the subject`, { subject: `a${c}b` }, "subject"]),
  ...CONTROLS.map(([name, c]): [string, Record<string, unknown>, string] => [
    `${name} in a display name`,
    { to: [`"a${c}b" <bob@example.com>`] },
    "to[0]",
  ]),
  ...CONTROLS.map(([name, c]): [string, Record<string, unknown>, string] => [
    `${name} in a filename`,
    { attachments: [file(`a${c}b.txt`)] },
    "attachments[0].filename",
  ]),
  ...BIDI.map(([name, c]): [string, Record<string, unknown>, string] => [
    `${name} in the subject`,
    { subject: `invoice${c}fdp.exe` },
    "subject",
  ]),
  ...BIDI.map(([name, c]): [string, Record<string, unknown>, string] => [
    `${name} in a custom header value`,
    { headers: { "X-Note": `a${c}b` } },
    "headers[X-Note]",
  ]),
  ...BIDI.map(([name, c]): [string, Record<string, unknown>, string] => [
    `${name} in a display name`,
    { to: [`"a${c}b" <bob@example.com>`] },
    "to[0]",
  ]),
  ...BIDI.map(([name, c]): [string, Record<string, unknown>, string] => [
    `${name} in the from display name`,
    { from: `"a${c}b" <sender1@example.com>` },
    "from",
  ]),
  ...BIDI.map(([name, c]): [string, Record<string, unknown>, string] => [
    `${name} in a filename`,
    { attachments: [file(`invoice${c}txt.exe`)] },
    "attachments[0].filename",
  ]),
];

test.each(cases)("%s is HEADER_INJECTION and writes nothing", async (_name, change, field) => {
  const r = await refusal(keyedClient(EmailService, t.url, undefined).send({ ...GOOD, ...change }));
  expect([r.code, r.reason, r.fields[0]]).toEqual([Code.InvalidArgument, "HEADER_INJECTION", field]);
  expect((await rowCounts(t.db.url)).outbox).toBe(0);
});

test("right-to-left text and ordinary Unicode pass everywhere", async () => {
  const res = await keyedClient(EmailService, t.url, undefined).send({
    ...GOOD,
    subject: "שלום \u200fworld",
    to: ['"Grüße 😀" <bob@example.com>'],
    headers: { "X-Note": "مرحبا 👨‍👩‍👧" },
    attachments: [file("résumé 😀.txt")],
  });
  expect(res.outbox?.outboxId).toBeDefined();
});
