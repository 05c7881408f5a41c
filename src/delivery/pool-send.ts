// A message composed at accept goes to nodemailer's SMTP pool as its bytes alone. sendMail would
// wrap them in a MIME node, run its plugin steps and a stream pipeline for every message; the
// pool asks only for an envelope, an id and a stream, and its connections do the rest (the
// envelope and DATA in one write where the server offers PIPELINING, the body in the next).
import { Readable } from "node:stream";
import type DKIM from "nodemailer/lib/dkim/index.js";
import type SMTPPool from "nodemailer/lib/smtp-pool/index.js";

/** A message as an attempt hands it over: its bytes and its envelope. */
export interface RawMail {
  messageId: string;
  envelope: { from: string; to: string[] };
  raw: Buffer;
}

/**
 * Sends `mail` over one of the pool's connections; resolves with the server's final reply.
 * `onHandedOver` runs once the whole message went to the connection (a break after that leaves
 * the outcome unknown). With `dkim`, the bytes are signed on their way out.
 */
export function sendRaw(pool: SMTPPool, mail: RawMail, dkim: DKIM | undefined, onHandedOver: () => void): Promise<string> {
  const message = {
    getEnvelope: () => ({ from: mail.envelope.from, to: [...mail.envelope.to] }),
    messageId: () => mail.messageId,
    getHeader: (key: string) => (key.toLowerCase() === "message-id" ? mail.messageId : undefined),
    createReadStream: () => {
      // A fresh stream for each use: the pool sends again over another connection when one
      // closes before a byte of the message was read.
      const bytes = Readable.from([mail.raw], { objectMode: false });
      const out = dkim ? dkim.sign(bytes) : bytes;
      out.once("end", onHandedOver);
      return out;
    },
  };
  return new Promise((resolve, reject) => {
    // The pool reads only these members of a MailMessage (its transport contract); nothing of
    // sendMail's options applies to bytes already composed.
    pool.send({ data: {}, message } as unknown as Parameters<SMTPPool["send"]>[0], (err, info) =>
      err ? reject(err) : resolve(String(info?.response ?? "")),
    );
  });
}
