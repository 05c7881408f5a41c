// One nodemailer transport per relay of an account: a pooled SMTP connection set, or (dev) .eml files.
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import nodemailer from "nodemailer";
import DKIM from "nodemailer/lib/dkim/index.js";
import SMTPPool from "nodemailer/lib/smtp-pool/index.js";
import type { AccountConfig, DkimConfig, RelayConfig, SmtpConfig } from "../config/config.js";
import type { Logger } from "../lib/log.js";
import type { SenderMetrics } from "../metrics/metrics.js";
import { providerMessageId, type MessageHandedOver } from "./classify.js";
import { OAuthTokenSource } from "./oauth-token.js";
import { sendRaw, type RawMail } from "./pool-send.js";
import { cleanRemoteText, cleanSmtpError, secretForms } from "./remote-text.js";

export interface AccountTransport {
  /** Resolves with the provider's id of the accepted message; rejects with the SMTP error. */
  send(mail: RawMail): Promise<string>;
  close(): void;
  /** Attempts this relay may have under way at once. */
  readonly concurrency: number;
}

/** Where a transport reports what the row does not show (its OAuth2 token requests). */
export interface TransportReports {
  log?: Logger;
  metrics?: SenderMetrics;
}

/** The transport of one of the account's relays; the account's DKIM key signs on every relay. */
export function createTransport(account: AccountConfig, relay: RelayConfig, reports: TransportReports = {}): AccountTransport {
  const dkim = account.dkim && dkimOptions(account.dkim);
  return relay.smtp ? smtpTransport(account, relay.smtp, dkim, reports) : fileTransport(relay.fileDir, dkim);
}

/** nodemailer signs every message of the transport (rsa-sha256, relaxed/relaxed). */
function dkimOptions(dkim: DkimConfig) {
  return { domainName: dkim.domain, keySelector: dkim.selector, privateKey: dkim.privateKey };
}

/** One token source per account transport, shared by all its pooled connections. */
function tokenSource(accountId: number, smtp: SmtpConfig, { log, metrics }: TransportReports): OAuthTokenSource | undefined {
  if (smtp.auth?.kind !== "oauth2-refresh") return undefined;
  return new OAuthTokenSource(smtp.auth.client, {
    timeoutMs: smtp.connectionTimeoutMs,
    onRefresh: (r) => {
      metrics?.tokenRequested(accountId, r.ok ? r.expiresAt : undefined);
      if (r.ok) log?.info({ account_id: accountId, expires_in_s: r.expiresInS }, "oauth2 access token fetched");
      else log?.warn({ account_id: accountId, error: r.error }, "oauth2 token refresh failed");
    },
  });
}

function smtpTransport(
  account: AccountConfig,
  smtp: SmtpConfig,
  dkim: ReturnType<typeof dkimOptions> | undefined,
  reports: TransportReports,
): AccountTransport {
  const source = tokenSource(account.id, smtp, reports);
  const auth =
    smtp.auth?.kind === "password"
      ? { user: smtp.auth.user, pass: smtp.auth.password }
      : smtp.auth?.kind === "oauth2"
        ? { type: "OAuth2" as const, user: smtp.auth.user, accessToken: smtp.auth.accessToken }
        : smtp.auth?.kind === "oauth2-refresh"
          ? {
              type: "OAuth2" as const,
              user: smtp.auth.user,
              // nodemailer asks per connection, right after send() made sure of a token with the
              // margin left: that one is used while it is valid. renew is nodemailer's retry
              // after a 334 error challenge.
              provisionCallback: (_user: string, renew: boolean, done: (err: Error | null, token?: string, expires?: number) => void) => {
                (renew ? source!.refresh() : source!.token(0)).then(
                  (token) => done(null, token, source!.state.expiresAt),
                  (err: Error) => done(err),
                );
              },
            }
          : undefined;
  const pool = new SMTPPool({ ...smtpPoolOptions(smtp), auth, logger: false, debug: false });
  // The mailer wires the pool's OAuth2 events; messages go to the pool itself (pool-send.ts).
  const transport = nodemailer.createTransport(pool);
  const signer = dkim && new DKIM(dkim);
  // The forms a server could echo the account's secret in: worked out once per transport, or
  // per reply while the access tokens change.
  const fixed = secretForms(smtp.auth);
  const secrets = () => (source ? secretForms(smtp.auth, source.secrets()) : fixed);
  const deliver = async (mail: RawMail) => {
    // Set once the whole message went to the connection: a break after that leaves the outcome
    // unknown (the server may have kept the message before it could answer).
    let handedOver = false;
    try {
      const response = await sendRaw(pool, mail, signer, () => (handedOver = true));
      return providerMessageId(cleanRemoteText(response, secrets()));
    } catch (err) {
      const clean = cleanSmtpError(err, secrets());
      if (handedOver && typeof clean === "object" && clean !== null) (clean as MessageHandedOver).messageHandedOver = true;
      throw clean;
    }
  };
  return {
    concurrency: smtp.maxConnections,
    async send(mail) {
      if (!source) return deliver(mail);
      // The token a new connection of this attempt signs in with (fetched now if due).
      const token = await source.token();
      try {
        return await deliver(mail);
      } catch (err) {
        if (!tokenRefused(err)) throw err;
        // The server refused a token we thought valid (revoked, or its clock is ahead): replace
        // it unless another attempt already did, and try once more within this same attempt.
        await source.replace(token);
        return deliver(mail);
      }
    },
    close: () => transport.close(),
  };
}

/** The pooled connections' settings for an SMTP relay (the credentials come on top). */
export function smtpPoolOptions(smtp: SmtpConfig) {
  return {
    pool: true as const,
    host: smtp.host,
    port: smtp.port,
    secure: smtp.tls === "implicit",
    requireTLS: smtp.tls === "starttls",
    ignoreTLS: smtp.tls === "none",
    tls: { rejectUnauthorized: smtp.rejectUnauthorized },
    maxConnections: smtp.maxConnections,
    maxMessages: 1000,
    connectionTimeout: smtp.connectionTimeoutMs,
    greetingTimeout: smtp.greetingTimeoutMs,
    socketTimeout: smtp.socketTimeoutMs,
  };
}

/** A 535 to AUTH XOAUTH2: the server refused the access token itself. */
function tokenRefused(err: unknown): boolean {
  const e = err as { code?: string; responseCode?: number };
  return e?.code === "EAUTH" && e.responseCode === 535;
}

/** Dev mode: the message is rendered exactly as it would be sent and written to a folder. */
function fileTransport(dir: string, dkim: ReturnType<typeof dkimOptions> | undefined): AccountTransport {
  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: "unix", dkim });
  return {
    concurrency: 4,
    async send({ messageId, envelope, raw }) {
      const info = await transport.sendMail({ messageId, envelope, raw, disableFileAccess: true, disableUrlAccess: true });
      const name = `${messageId.replace(/[^A-Za-z0-9@._-]/g, "")}.eml`;
      await mkdir(dir, { recursive: true });
      await writeFile(path.join(dir, name), info.message as Buffer);
      return `file-${name}`;
    },
    close: () => transport.close(),
  };
}
