// RFC 5322 §2.1.1: no line of a message may exceed 998 bytes, whatever the input. Generated
// subjects, display names and filenames (long runs without spaces, quotes, non-ASCII, emoji, up
// to each field's limit) go through the real service; every line the SMTP server receives is
// measured, and the values are read back as sent.
import { afterAll, beforeAll, expect, test } from "vitest";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { EmailService } from "../../gen/email/v1/email_service_pb.js";
import { MAX_SUBJECT_BYTES } from "../../src/api/handlers/validate.js";
import { sinkAccount, startTestApp, type TestApp } from "../helpers/app.js";
import { startSmtpSink, type SmtpSink } from "../helpers/smtp-sink.js";

const CASES = 40;
const MAX_LINE = 998;
const ALPHABETS = ["a", "Z", "0", " ", '"', "\\", "'", "(", ";", "é", "ф", "你", "😀", "=?", "-"];

let sink: SmtpSink;
let t: TestApp;

beforeAll(async () => {
  sink = await startSmtpSink();
  t = await startTestApp({ label: "line_length", json: { accounts: [sinkAccount(1, sink.port)] } });
});
afterAll(async () => {
  await t?.close();
  await sink?.close();
});

/** mulberry32: the same cases on every run. */
function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

/** A string of up to `maxBytes` UTF-8 bytes and `maxChars` characters, mostly one long run. */
function text(next: () => number, maxBytes: number, maxChars: number): string {
  const letters = ALPHABETS.filter(() => next() < 0.4);
  const pool = letters.length ? letters : ["a"];
  const spaces = next() < 0.5 ? 0 : next() * 0.1;
  let out = "x";
  const target = Math.floor(maxBytes * (0.8 + next() * 0.2));
  for (;;) {
    const piece = next() < spaces ? " " : pool[Math.floor(next() * pool.length)]!;
    if (Buffer.byteLength(out + piece) > target || [...(out + piece)].length > maxChars) break;
    out += piece;
  }
  return [...`${out}x`].slice(0, maxChars).join("");
}

test(`${CASES} generated messages: every line at the sink is at most ${MAX_LINE} bytes`, async () => {
  const client = createClient(EmailService, createGrpcTransport({ baseUrl: t.url }));
  const next = rng(14);
  const inputs = Array.from({ length: CASES }, (_, i) => {
    // At most 480 bytes, so that quoted and escaped it stays within the 998-character address.
    const name = text(next, 480, 480).replace(/\s+/g, " ");
    return {
      subject: i === 0 ? "a".repeat(MAX_SUBJECT_BYTES) : text(next, MAX_SUBJECT_BYTES, 10_000),
      to: `"${name.replace(/["\\]/g, "\\$&")}" <bob${i}@example.com>`,
      filename: text(next, 1000, 255).replace(/[\\/]/g, "_"),
    };
  });
  for (const input of inputs) {
    await client.send({
      accountId: 1,
      to: [input.to],
      subject: input.subject,
      bodyText: "b",
      attachments: [{ filename: input.filename, contentType: "text/plain", content: Buffer.from("x") }],
    });
  }
  const received = await sink.waitFor(CASES, 60_000);
  for (const msg of received) {
    const longest = Math.max(
      ...msg.raw
        .toString("latin1")
        .split("\r\n")
        .map((l) => l.length),
    );
    expect(longest, msg.header("subject")?.slice(0, 80)).toBeLessThanOrEqual(MAX_LINE);
  }
  // Folding may change how many spaces stand in a row, nothing else.
  const norm = (s: string | undefined) => s?.replace(/ +/g, " ");
  const bySubject = new Map(received.map((m) => [norm(m.parsed.subject), m]));
  for (const input of inputs) {
    const msg = bySubject.get(norm(input.subject));
    expect(msg, input.subject.slice(0, 80)).toBeDefined();
    expect(norm(msg!.parsed.attachments[0]?.filename)).toBe(norm(input.filename));
  }
});
