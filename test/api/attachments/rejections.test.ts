// Every attachment the policy refuses is refused before anything is written: INVALID_ARGUMENT
// with the reason, the reference's message and the field, and no row in any table.
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import type { ReplyRequestSchema, SendRequestSchema } from "../../../gen/email/v1/email_service_pb.js";
import type { AttachmentSchema } from "../../../gen/email/v1/outbox_pb.js";
import { OutboxStatus } from "../../../gen/email/v1/outbox_pb.js";
import { sinkAccount, startTestApp, type TestApp } from "../../helpers/app.js";
import { emailClient, type EmailClient } from "../../helpers/clients.js";
import { refusal } from "../../helpers/refusal.js";
import { startSmtpSink, type SmtpSink } from "../../helpers/smtp-sink.js";
import { rowCounts, sha256 } from "./helpers.js";

type SendInit = MessageInitShape<typeof SendRequestSchema>;
type ReplyInit = MessageInitShape<typeof ReplyRequestSchema>;
type AttachmentInit = MessageInitShape<typeof AttachmentSchema>;

// Small limits keep the boundary cases cheap; the 25 MiB defaults are exercised in round-trip.test.ts.
const MAX = 1000;
const TOTAL = 1500;

let base: string;
let sink: SmtpSink;
let t: TestApp;
let client: EmailClient;

beforeAll(async () => {
  base = await mkdtemp(path.join(tmpdir(), "attachment-rejections-"));
  const store = path.join(base, "store");
  await mkdir(path.join(store, "docs"), { recursive: true });
  await mkdir(path.join(base, "outside"));
  await writeFile(path.join(base, "outside", "secret.pdf"), "secret");
  await writeFile(path.join(store, "docs", "limit.pdf"), Buffer.alloc(MAX, 1));
  await writeFile(path.join(store, "docs", "over.pdf"), Buffer.alloc(MAX + 1, 1));
  await writeFile(path.join(store, "docs", "800.pdf"), Buffer.alloc(800, 2));
  await symlink(path.join(base, "outside", "secret.pdf"), path.join(store, "docs", "link.pdf"));
  await symlink(path.join(base, "outside"), path.join(store, "linked-dir"));
  sink = await startSmtpSink();
  t = await startTestApp({
    label: "attachment_rejections",
    json: {
      accounts: [sinkAccount(1, sink.port)],
      attachment_policy: { max_size_bytes: MAX, max_total_bytes: TOTAL },
      attachment_store: { dir: store },
    },
  });
  client = emailClient(t.url);
});
afterAll(async () => {
  await t?.close();
  await sink?.close();
  await rm(base, { recursive: true, force: true });
});

const GOOD: SendInit = { accountId: 1, to: ["Bob <bob@example.com>"], subject: "Report", bodyText: "Attached." };
type Fields = Partial<Pick<AttachmentInit, "filename" | "contentType" | "content" | "path" | "contentId">>;
const pdf = (extra: Fields): AttachmentInit => ({ filename: "r.pdf", contentType: "application/pdf", ...extra });
const bytes = (n: number) => new Uint8Array(n).fill(7);
const send = (...attachments: AttachmentInit[]) => client.send({ ...GOOD, attachments });

interface Case {
  name: string;
  attachments: AttachmentInit[];
  reason: string;
  field: string;
  message?: string;
}

const REFERENCE = {
  source: "attachment requires exactly one of base64 or path",
  size: "attachment exceeds size limit",
  type: "attachment content type is not allowed",
  escapes: "attachment path escapes storage root",
};

const cases: Case[] = [
  {
    name: "both content and path",
    attachments: [pdf({ content: bytes(1), path: "docs/limit.pdf" })],
    reason: "ATTACHMENT_SOURCE_INVALID",
    field: "attachments[0]",
    message: REFERENCE.source,
  },
  {
    name: "neither content nor path",
    attachments: [pdf({})],
    reason: "ATTACHMENT_SOURCE_INVALID",
    field: "attachments[0]",
    message: REFERENCE.source,
  },
  {
    name: "content one byte over the limit",
    attachments: [pdf({ content: bytes(MAX + 1) })],
    reason: "ATTACHMENT_TOO_LARGE",
    field: "attachments[0].content",
    message: REFERENCE.size,
  },
  {
    name: "a stored file one byte over the limit",
    attachments: [pdf({ path: "docs/over.pdf" })],
    reason: "ATTACHMENT_TOO_LARGE",
    field: "attachments[0].path",
    message: REFERENCE.size,
  },
  {
    name: "content over the total",
    attachments: [pdf({ content: bytes(800) }), pdf({ content: bytes(800) })],
    reason: "ATTACHMENTS_TOO_LARGE",
    field: "attachments",
  },
  {
    name: "stored files over the total",
    attachments: [pdf({ content: bytes(800) }), pdf({ path: "docs/800.pdf" })],
    reason: "ATTACHMENTS_TOO_LARGE",
    field: "attachments",
  },
  {
    name: "text/html",
    attachments: [pdf({ content: bytes(1), contentType: "text/html" })],
    reason: "ATTACHMENT_CONTENT_TYPE_NOT_ALLOWED",
    field: "attachments[0].content_type",
    message: REFERENCE.type,
  },
  {
    name: "no content type",
    attachments: [pdf({ content: bytes(1), contentType: "" })],
    reason: "ATTACHMENT_CONTENT_TYPE_NOT_ALLOWED",
    field: "attachments[0].content_type",
    message: REFERENCE.type,
  },
  {
    name: "../ traversal",
    attachments: [pdf({ path: "../outside/secret.pdf" })],
    reason: "ATTACHMENT_PATH_ESCAPES_ROOT",
    field: "attachments[0].path",
    message: REFERENCE.escapes,
  },
  {
    name: "an absolute path elsewhere",
    attachments: [pdf({ path: "/etc/passwd" })],
    reason: "ATTACHMENT_PATH_ESCAPES_ROOT",
    field: "attachments[0].path",
    message: REFERENCE.escapes,
  },
  {
    name: "a symlinked file pointing out",
    attachments: [pdf({ path: "docs/link.pdf" })],
    reason: "ATTACHMENT_PATH_ESCAPES_ROOT",
    field: "attachments[0].path",
    message: REFERENCE.escapes,
  },
  {
    name: "a symlinked directory pointing out",
    attachments: [pdf({ path: "linked-dir/secret.pdf" })],
    reason: "ATTACHMENT_PATH_ESCAPES_ROOT",
    field: "attachments[0].path",
    message: REFERENCE.escapes,
  },
  {
    name: "a missing file",
    attachments: [pdf({ path: "docs/missing.pdf" })],
    reason: "ATTACHMENT_NOT_FOUND",
    field: "attachments[0].path",
    message: "attachment file not found",
  },
  {
    name: "a directory",
    attachments: [pdf({ path: "docs" })],
    reason: "ATTACHMENT_UNREADABLE",
    field: "attachments[0].path",
    message: "attachment file cannot be read",
  },
  {
    name: "CR LF in the filename",
    attachments: [pdf({ content: bytes(1), filename: "a.pdf\r\nBcc: eve@evil.test" })],
    reason: "HEADER_INJECTION",
    field: "attachments[0].filename",
  },
  {
    name: "NUL in the filename",
    attachments: [pdf({ content: bytes(1), filename: "a\0.pdf" })],
    reason: "HEADER_INJECTION",
    field: "attachments[0].filename",
  },
  {
    name: "an empty filename",
    attachments: [pdf({ content: bytes(1), filename: "" })],
    reason: "ATTACHMENT_FILENAME_INVALID",
    field: "attachments[0].filename",
  },
  {
    name: "a 256-character filename",
    attachments: [pdf({ content: bytes(1), filename: `${"文".repeat(252)}.pdf` })],
    reason: "ATTACHMENT_FILENAME_INVALID",
    field: "attachments[0].filename",
  },
  {
    name: "a content_id with angle brackets",
    attachments: [pdf({ content: bytes(1), contentId: "<logo>" })],
    reason: "ATTACHMENT_CONTENT_ID_INVALID",
    field: "attachments[0].content_id",
  },
  {
    name: "33 attachments",
    attachments: Array.from({ length: 33 }, () => pdf({ content: bytes(1) })),
    reason: "TOO_MANY_ATTACHMENTS",
    field: "attachments",
  },
];

async function expectRefused(call: Promise<unknown>, c: Omit<Case, "attachments" | "name">): Promise<void> {
  const r = await refusal(call);
  expect({ code: r.code, reason: r.reason, field: r.fields[0] }).toEqual({ code: Code.InvalidArgument, reason: c.reason, field: c.field });
  if (c.message) expect(r.message).toBe(c.message);
}

describe("refused with no row in any table", () => {
  afterEach(async () => {
    expect(await rowCounts(t.db.url)).toEqual({ outbox: 0, events: 0, attachments: 0, chunks: 0 });
  });

  test.each(cases)("Send: $name", (c) => expectRefused(send(...c.attachments), c));

  test("Reply: refused the same way", async () => {
    const reply: ReplyInit = {
      accountId: 1,
      inReplyToMessageId: "<parent@example.com>",
      bodyText: "Thanks",
      attachments: [pdf({ path: "../outside/secret.pdf" })],
    };
    await expectRefused(client.reply(reply), {
      reason: "ATTACHMENT_PATH_ESCAPES_ROOT",
      field: "attachments[0].path",
      message: REFERENCE.escapes,
    });
  });

  test("a path with no attachment store configured", async () => {
    t.app.reload({ ...t.config, attachmentStore: undefined });
    try {
      await expectRefused(send(pdf({ path: "docs/limit.pdf" })), {
        reason: "ATTACHMENT_STORE_NOT_CONFIGURED",
        field: "attachments[0].path",
        message: "attachment store not configured",
      });
    } finally {
      t.app.reload(t.config);
    }
  });

  test("every problem of the request is listed; the good attachment between them is not", async () => {
    const r = await refusal(
      send(pdf({ content: bytes(1), contentType: "text/html" }), pdf({ content: bytes(1) }), pdf({ path: "docs/x", content: bytes(1) })),
    );
    expect(r.fields).toEqual(["attachments[0].content_type", "attachments[2]"]);
  });

  test("an invalid recipient is reported without the stored file being read", async () => {
    const r = await refusal(client.send({ ...GOOD, to: ["nobody"], attachments: [pdf({ path: "docs/missing.pdf" })] }));
    expect(r.fields).toEqual(["to[0]"]);
  });
});

test("exactly the size limit is accepted, as content and as a stored file, and both arrive intact", async () => {
  const res = await client.send({ ...GOOD, waitForAttempt: true, attachments: [pdf({ content: bytes(MAX), filename: "a.pdf" })] });
  expect(res.outbox?.status).toBe(OutboxStatus.SENT);
  const res2 = await client.send({ ...GOOD, waitForAttempt: true, attachments: [pdf({ path: "docs/limit.pdf", filename: "b.pdf" })] });
  expect(res2.outbox?.status).toBe(OutboxStatus.SENT);
  const [first, second] = await sink.waitFor(2);
  expect(first!.parsed.attachments.map((a) => sha256(a.content))).toEqual([sha256(bytes(MAX))]);
  expect(second!.parsed.attachments.map((a) => sha256(a.content))).toEqual([sha256(Buffer.alloc(MAX, 1))]);
});
