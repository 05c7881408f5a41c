// One account after the schema: the rules across its settings (smtp or file_dir, TLS and port,
// allowed_from) and its secrets, read into the AccountConfig the service runs with.
import path from "node:path";
import type { VerpConfig } from "../message/verp.js";
import { allowedFromEntry, ownAddress } from "../message/sender-identity.js";
import { webhookConfigs, type WebhookConfig } from "./webhooks.js";
import { IMAP_PORTS, SMTP_PORTS, type AccountFile, type Ports, type RelayPolicy, type TlsMode } from "./account-schema.js";
import { parseReasonClasses, type ReasonClasses } from "./reason-classes.js";
import { ConfigError } from "./errors.js";
import { authFor, dkimConfig, verpConfig, type DkimConfig, type SmtpAuth } from "./secrets.js";

type SmtpFile = NonNullable<AccountFile["smtp"]>;
type ImapFile = NonNullable<AccountFile["imap"]>;
/** Where and how to connect, after the TLS and port defaults. */
interface Connection {
  readonly port: number;
  readonly tls: TlsMode;
  readonly rejectUnauthorized: boolean;
}
type Resolved = "user" | "auth" | "tlsRejectUnauthorized" | "port" | "tls";

export type SmtpConfig = Omit<SmtpFile, Resolved> & Connection & { readonly auth?: SmtpAuth };
/** An account's IMAP mailbox, whose mail is ingested like IngestMessage (src/mailbox/imap-inbound.ts). */
export type ImapConfig = Omit<ImapFile, Resolved> & Connection & { readonly auth: ImapAuth };
/** A password or a static OAuth2 access token (no refresh for IMAP). */
type ImapAuth = Extract<SmtpAuth, { kind: "password" | "oauth2" }>;

/**
 * Where an account's mail goes out: an SMTP server, or (dev, the account's only relay) a folder
 * the messages are written to as .eml files.
 */
export type RelayConfig =
  | { readonly name: string; readonly smtp: SmtpConfig; readonly fileDir?: undefined }
  | { readonly name: string; readonly fileDir: string; readonly smtp?: undefined };

/** The name of an account's one relay when it sets smtp (or file_dir) instead of relays. */
export const DEFAULT_RELAY = "default";

type Replaced = "allowedFrom" | "smtp" | "fileDir" | "relays" | "imap" | "dkim" | "verp" | "suppression" | "webhooks";
export type AccountConfig = Omit<AccountFile, Replaced> & {
  /** Other From addresses a message may set ("user@domain" or "*@domain"); the account's own is always allowed. */
  readonly allowedFrom?: readonly string[];
  /** At least one; in the order relay_policy "failover" tries them. */
  readonly relays: readonly RelayConfig[];
  readonly relayPolicy: RelayPolicy;
  /** Inbound mail: one instance at a time keeps this mailbox ingested. */
  readonly imap?: ImapConfig;
  /** undefined: mail goes out unsigned. */
  readonly dkim?: DkimConfig;
  /** VERP: each message's envelope sender names its row, so bounces match it unforgeably. */
  readonly verp?: VerpConfig;
  /** Suppress an address after this many reports of a soft-class reason about it within the window. */
  readonly softBounces?: { readonly limit: number; readonly windowMs: number };
  /** Which bounce reasons suppress, count as soft or never suppress; undefined: the taxonomy's defaults. */
  readonly reasonClasses?: ReasonClasses;
  readonly webhooks: readonly WebhookConfig[];
};

/** The account as the service runs it; relative paths resolve against baseDir. */
export function accountConfig(account: AccountFile, env: NodeJS.ProcessEnv, baseDir: string): AccountConfig {
  const where = `account ${account.id}`;
  const { smtp, relays, imap, dkim, verp, suppression, webhooks, allowedFrom, fileDir, ...rest } = account;
  const ways = [smtp && "smtp", relays && "relays", fileDir !== undefined && "file_dir"].filter(Boolean);
  if (ways.length > 1) throw new ConfigError(`${where}: set one of smtp, relays and file_dir, not ${ways.join(" and ")}`);
  if (ways.length === 0) throw new ConfigError(`${where}: smtp (or relays) is required`);
  const smtpConfig = (file: SmtpFile, at: string): SmtpConfig =>
    Object.freeze({ ...connection(file, SMTP_PORTS), auth: file.auth && authFor(file.auth, file.user, "smtp", env, at) });
  const relayConfigs: RelayConfig[] =
    fileDir !== undefined
      ? [{ name: DEFAULT_RELAY, fileDir: path.resolve(baseDir, fileDir) }]
      : (relays ?? [{ name: DEFAULT_RELAY, smtp: smtp! }]).map((r) => ({
          name: r.name,
          smtp: smtpConfig(r.smtp, relays ? `${where} relay ${r.name}` : where),
        }));
  return Object.freeze({
    ...rest,
    allowedFrom: allowedFrom && allowedAddresses(allowedFrom, account.from, where),
    relays: Object.freeze(relayConfigs.map((r) => Object.freeze(r))),
    // imap.auth has no oauth2 (refresh) way: the schema leaves it out.
    imap: imap && Object.freeze({ ...connection(imap, IMAP_PORTS), auth: authFor(imap.auth, imap.user, "imap", env, where) as ImapAuth }),
    dkim: dkim && dkimConfig(dkim, env, baseDir, where),
    verp: verp && verpConfig(verp, env, where),
    ...suppressionConfig(suppression, where),
    webhooks: webhookConfigs(webhooks, env, where),
  });
}

/**
 * TLS and port agree: without a port, the one of the TLS mode (or of the protocol's default
 * mode); without tls, implicit TLS on the implicit-TLS port and STARTTLS on any other.
 */
function connection<T extends SmtpFile | ImapFile>({ user: _user, auth: _auth, tlsRejectUnauthorized, ...settings }: T, ports: Ports) {
  const port = settings.port ?? ((settings.tls ?? ports.tls) === "implicit" ? ports.implicit : ports.starttls);
  const tls = settings.tls ?? (port === ports.implicit ? "implicit" : "starttls");
  return { ...settings, port, tls, rejectUnauthorized: tlsRejectUnauthorized };
}

/**
 * `allowed_from`, normalised ("user@domain" or "*@domain"). The envelope sender stays the address
 * of `from`, so with allowed_from that must be one mailbox.
 */
function allowedAddresses(entries: readonly string[], from: string, where: string): readonly string[] {
  if (ownAddress(from) === undefined) throw new ConfigError(`${where}: with allowed_from, from must be one address (the envelope sender)`);
  return Object.freeze(
    entries.map((entry) => {
      try {
        return allowedFromEntry(entry);
      } catch (err) {
        throw new ConfigError(
          `${where}: allowed_from: ${JSON.stringify(entry)} is not an address or "*@domain" (${(err as Error).message})`,
        );
      }
    }),
  );
}

/** `suppression`: the soft-bounce rule (off without a limit) and the account's reason classes. */
function suppressionConfig(suppression: AccountFile["suppression"], where: string): Pick<AccountConfig, "softBounces" | "reasonClasses"> {
  if (!suppression) return {};
  const { soft_bounce_limit: limit, soft_bounce_window_ms: windowMs, reason_classes: classes } = suppression;
  const parsed = classes === undefined ? undefined : parseReasonClasses(classes, `${where}: suppression.reason_classes`);
  if (parsed && "error" in parsed) throw new ConfigError(parsed.error);
  return { softBounces: limit === undefined ? undefined : Object.freeze({ limit, windowMs }), reasonClasses: parsed?.classes };
}
