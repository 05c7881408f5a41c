// Composed bytes go to a pooled connection as they are: the envelope and DATA in one write where
// the server offers PIPELINING (one command at a time where it does not), the body byte for byte
// (dot-stuffed on the wire, whole again at the server), one session for many messages.
import type { AddressInfo, Socket } from "node:net";
import nodemailer from "nodemailer";
import SMTPPool from "nodemailer/lib/smtp-pool/index.js";
import { SMTPServer } from "smtp-server";
import { afterEach, expect, test } from "vitest";
import { sendRaw } from "../../src/delivery/pool-send.js";

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

/** A real SMTP server on a free port that records what each read of a connection brought and every message. */
async function recordingServer(hidePIPELINING: boolean) {
  const reads: string[] = [];
  const messages: Buffer[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS", "AUTH"],
    hidePIPELINING,
    logger: false,
    onData(stream, _session, done) {
      const parts: Buffer[] = [];
      stream.on("data", (c: Buffer) => parts.push(c));
      stream.on("end", () => {
        messages.push(Buffer.concat(parts));
        done(null, `2.0.0 Ok: queued as Q${messages.length}`);
      });
    },
  });
  server.server.on("connection", (socket: Socket) => socket.on("data", (c: Buffer) => reads.push(c.toString("latin1"))));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  closers.push(() => new Promise((resolve) => server.close(() => resolve())));
  const { port } = server.server.address() as AddressInfo;
  const pool = new SMTPPool({ host: "127.0.0.1", port, ignoreTLS: true, maxConnections: 1, logger: false });
  nodemailer.createTransport(pool);
  closers.push(async () => pool.close());
  return { pool, reads, messages };
}

const RAW = Buffer.from("Message-ID: <m@x.test>\r\nSubject: dots\r\n\r\n.a line that starts with a dot\r\n..two\r\nend\r\n", "latin1");
const mail = (n: number) => ({ messageId: `<m${n}@x.test>`, envelope: { from: "a@x.test", to: ["b@y.test", "c@y.test"] }, raw: RAW });

test("with PIPELINING the envelope and DATA leave in one write; the body arrives byte for byte", async () => {
  const { pool, reads, messages } = await recordingServer(false);
  let handedOver = 0;
  const replies = [
    await sendRaw(pool, mail(1), undefined, () => handedOver++),
    await sendRaw(pool, mail(2), undefined, () => handedOver++),
  ];
  expect(replies).toEqual([expect.stringMatching(/^250 .*queued as Q1$/), expect.stringMatching(/^250 .*queued as Q2$/)]);
  expect(messages).toEqual([RAW, RAW]);
  expect(handedOver).toBe(2);
  const envelopes = reads.filter((r) => r.includes("MAIL FROM"));
  expect(envelopes).toEqual(Array(2).fill("MAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nRCPT TO:<c@y.test>\r\nDATA\r\n"));
  // One session for both messages; the wire carries the body dot-stuffed.
  expect(reads.filter((r) => r.startsWith("EHLO"))).toHaveLength(1);
  expect(reads.join("")).toContain("\r\n\r\n..a line that starts with a dot\r\n...two\r\nend\r\n.\r\n");
});

test("without PIPELINING each envelope command waits for its reply", async () => {
  const { pool, reads, messages } = await recordingServer(true);
  await sendRaw(pool, mail(1), undefined, () => {});
  expect(messages).toEqual([RAW]);
  const from = reads.findIndex((r) => r.startsWith("MAIL FROM"));
  expect(reads.slice(from, from + 4)).toEqual(["MAIL FROM:<a@x.test>\r\n", "RCPT TO:<b@y.test>\r\n", "RCPT TO:<c@y.test>\r\n", "DATA\r\n"]);
});

test("an envelope address with a line break is refused before a command carries it", async () => {
  const { pool, reads, messages } = await recordingServer(false);
  const refused = sendRaw(pool, { ...mail(1), envelope: { from: "a@x.test", to: ["bad\r\nRSET@y.test"] } }, undefined, () => {});
  await expect(refused).rejects.toMatchObject({ code: "EENVELOPE" });
  expect(messages).toEqual([]);
  expect(reads.join("")).not.toContain("RSET");
});
