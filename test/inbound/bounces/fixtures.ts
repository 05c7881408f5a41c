// The report fixtures (real MIME files in the shapes Postfix, Exim, Gmail, Exchange and an ARF
// feedback loop send; postfix-blocked is a sender-side refusal, an RBL listing of our IP), filled
// in for one sent message.
import { readFileSync } from "node:fs";

export const FIXTURES = [
  "postfix-dsn",
  "postfix-delayed",
  "exim-plain",
  "gmail-dsn",
  "exchange-ndr",
  "arf-complaint",
  "postfix-blocked",
] as const;
export type Fixture = (typeof FIXTURES)[number];

export interface Fill {
  rcpt: string;
  messageId: string;
  subject?: string;
  deliveredTo?: string;
}

let reports = 0;

/** The fixture for `fill`, with a Message-ID of its own (a report ingested twice is stored once). */
export function fixture(name: Fixture, fill: Fill): Buffer {
  const file = readFileSync(new URL(`./fixtures/${name}.eml`, import.meta.url), "utf8");
  const end = file.indexOf("\r\n\r\n");
  const head = file.slice(0, end).replace(/^Message-I[Dd]: .*$/m, `Message-ID: <report-${process.pid}-${++reports}@fixture.test>`);
  const text = head + file.slice(end);
  return Buffer.from(
    text
      .replaceAll("{{RCPT}}", fill.rcpt)
      .replaceAll("{{MESSAGE_ID}}", fill.messageId)
      .replaceAll("{{SUBJECT}}", fill.subject ?? "Your order")
      .replaceAll("{{DELIVERED_TO}}", fill.deliveredTo ?? "sender1@example.com"),
  );
}
