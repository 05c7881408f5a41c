// One nodemailer transport per account: a pooled SMTP connection set, or (dev) .eml files.
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import nodemailer from "nodemailer";
import type Mail from "nodemailer/lib/mailer/index.js";
import type { AccountConfig, SmtpConfig } from "../config.js";
import { providerMessageId } from "./classify.js";
import { cleanRemoteText, cleanSmtpError, secretForms } from "./remote-text.js";

export interface AccountTransport {
  /** Resolves with the provider's id of the accepted message; rejects with the SMTP error. */
  send(mail: Mail.Options): Promise<string>;
  close(): void;
  /** Attempts this account may have under way at once. */
  readonly concurrency: number;
}

export function createTransport(account: AccountConfig): AccountTransport {
  return account.smtp ? smtpTransport(account.smtp) : fileTransport(account.fileDir!);
}

function smtpTransport(smtp: SmtpConfig): AccountTransport {
  const auth =
    smtp.auth?.kind === "password"
      ? { user: smtp.auth.user, pass: smtp.auth.password }
      : smtp.auth?.kind === "oauth2"
        ? { type: "OAuth2" as const, user: smtp.auth.user, accessToken: smtp.auth.accessToken }
        : undefined;
  const transport = nodemailer.createTransport({
    pool: true,
    host: smtp.host,
    port: smtp.port,
    secure: smtp.tls === "implicit",
    requireTLS: smtp.tls === "starttls",
    ignoreTLS: smtp.tls === "none",
    auth,
    tls: { rejectUnauthorized: smtp.rejectUnauthorized },
    maxConnections: smtp.maxConnections,
    maxMessages: 1000,
    connectionTimeout: smtp.connectionTimeoutMs,
    greetingTimeout: smtp.greetingTimeoutMs,
    socketTimeout: smtp.socketTimeoutMs,
    logger: false,
    debug: false,
  });
  // Sends whose whole message went to the connection: a break after that leaves the outcome
  // unknown (the server may have kept the message before it could answer).
  const handedOver = new Set<string>();
  transport.use("stream", (mail, done) => {
    const id = mail.data.messageId;
    if (typeof id === "string") {
      mail.message.processFunc((input) => {
        input.once("end", () => handedOver.add(id));
        return input;
      });
    }
    done();
  });
  // The forms a server could echo the account's secret in, worked out once per transport.
  const secrets = secretForms(smtp.auth);
  return {
    concurrency: smtp.maxConnections,
    async send(mail) {
      const id = String(mail.messageId);
      try {
        const info = await transport.sendMail(mail);
        return providerMessageId(cleanRemoteText(String(info.response ?? ""), secrets));
      } catch (err) {
        const clean = cleanSmtpError(err, secrets);
        if (handedOver.has(id) && typeof clean === "object" && clean !== null) (clean as MessageHandedOver).messageHandedOver = true;
        throw clean;
      } finally {
        handedOver.delete(id);
      }
    },
    close: () => transport.close(),
  };
}

/** Set on a send's error when the failure came after the whole message was written out. */
export interface MessageHandedOver {
  messageHandedOver?: boolean;
}

/** Dev mode: the message is rendered exactly as it would be sent and written to a folder. */
function fileTransport(dir: string): AccountTransport {
  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: "unix" });
  return {
    concurrency: 4,
    async send(mail) {
      const info = await transport.sendMail(mail);
      const name = `${String(mail.messageId ?? Date.now()).replace(/[^A-Za-z0-9@._-]/g, "")}.eml`;
      await mkdir(dir, { recursive: true });
      await writeFile(path.join(dir, name), info.message as Buffer);
      return `file-${name}`;
    },
    close: () => transport.close(),
  };
}
