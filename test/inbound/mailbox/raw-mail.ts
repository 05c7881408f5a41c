// Builds received messages as raw RFC 5322 bytes (CRLF), the way a mail client would send them.

export interface RawMail {
  from?: string;
  to?: string;
  cc?: string;
  replyTo?: string;
  subject?: string;
  /** Omitted when undefined; pass the header value as it should appear. */
  messageId?: string;
  inReplyTo?: string;
  references?: string;
  date?: string;
  text?: string;
  /** Extra header lines, written as given. */
  headers?: string[];
}

export function rawMail(m: RawMail): Buffer {
  const lines: string[] = [];
  const add = (name: string, value: string | undefined) => {
    if (value !== undefined) lines.push(`${name}: ${value}`);
  };
  add("From", m.from ?? "Customer <customer@client.example>");
  add("To", m.to ?? "Account 1 <sender1@example.com>");
  add("Cc", m.cc);
  add("Reply-To", m.replyTo);
  add("Subject", m.subject);
  add("Date", m.date ?? "Tue, 02 Jan 2024 10:00:00 +0000");
  add("Message-ID", m.messageId);
  add("In-Reply-To", m.inReplyTo);
  add("References", m.references);
  lines.push(...(m.headers ?? []), "MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8");
  return Buffer.from(`${lines.join("\r\n")}\r\n\r\n${m.text ?? "Hello."}\r\n`);
}
