// The secrets an account's settings name, read after the schema: from the environment (`*_env`,
// so a config file need not hold them), inline, or from a key file. Every message names the
// setting and the variable or file, never the value.
import { createPrivateKey } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import type { VerpConfig } from "../message/verp.js";
import type { AccountFile } from "./account-schema.js";
import { ConfigError } from "./errors.js";

export type SmtpAuth =
  | { kind: "password"; user: string; password: string }
  | { kind: "oauth2"; user: string; accessToken: string }
  | { kind: "oauth2-refresh"; user: string; client: OAuth2Client };

/** An OAuth2 client that trades its refresh token for short-lived access tokens (RFC 6749 §6). */
export interface OAuth2Client {
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  refreshToken: string;
  scope?: string;
}

/** DKIM signing for an account's mail (RFC 6376, rsa-sha256, relaxed/relaxed). */
export interface DkimConfig {
  domain: string;
  selector: string;
  /** PKCS#8 PEM, checked at load to be an RSA key of at least 1024 bits. */
  privateKey: string;
}

type SmtpAuthFile = NonNullable<NonNullable<AccountFile["smtp"]>["auth"]>;
type ImapAuthFile = NonNullable<AccountFile["imap"]>["auth"];

/** The value of the environment variable `name` that `setting` names; `where` begins the message. */
export function fromEnv(env: NodeJS.ProcessEnv, name: string, setting: string, where: string): string {
  const value = env[name];
  if (!value) throw new ConfigError(`${where}: environment variable ${name} (${setting}) is not set`);
  return value;
}

const WAYS = ["password", "password_env", "oauth_token", "oauth_token_env", "oauth2"] as const;

/** `smtp.auth` or `imap.auth` (`section`): exactly one way to authenticate as `user`, its secret read. */
export function authFor(
  auth: SmtpAuthFile | ImapAuthFile,
  user: string,
  section: "smtp" | "imap",
  env: NodeJS.ProcessEnv,
  where: string,
): SmtpAuth {
  const given = WAYS.filter((way) => (auth as SmtpAuthFile)[way] !== undefined);
  if (given.length !== 1) {
    throw new ConfigError(`${where}: ${section}.auth must set exactly one of password/oauth_token${section === "smtp" ? "/oauth2" : ""}`);
  }
  if (!user) throw new ConfigError(`${where}: ${section} user is required with ${section}.auth`);
  const way = given[0]!;
  if (way === "oauth2") {
    const client = oauth2Client((auth as SmtpAuthFile).oauth2!, env, `${where}: smtp.auth.oauth2`);
    return Object.freeze({ kind: "oauth2-refresh", user, client });
  }
  const value = way.endsWith("_env") ? fromEnv(env, auth[way]!, `${section}.auth.${way}`, where) : auth[way]!;
  if (way.startsWith("password")) return Object.freeze({ kind: "password", user, password: value });
  return Object.freeze({ kind: "oauth2", user, accessToken: value });
}

function oauth2Client(oauth2: NonNullable<SmtpAuthFile["oauth2"]>, env: NodeJS.ProcessEnv, at: string): OAuth2Client {
  return Object.freeze({
    tokenUrl: oauth2.token_url,
    clientId: oauth2.client_id,
    clientSecret: fromEnv(env, oauth2.client_secret_env, "client_secret_env", at),
    refreshToken: fromEnv(env, oauth2.refresh_token_env, "refresh_token_env", at),
    scope: oauth2.scope,
  });
}

/** `verp`: bounces come back to bounce+{outbox_id}-{hmac}@domain, the HMAC keyed by the secret. */
export function verpConfig(verp: NonNullable<AccountFile["verp"]>, env: NodeJS.ProcessEnv, where: string): VerpConfig {
  const secret = env[verp.secret_env];
  if (!secret || secret.length < 16) {
    throw new ConfigError(`${where}: environment variable ${verp.secret_env} (verp.secret_env) must hold at least 16 characters`);
  }
  return Object.freeze({ domain: verp.domain, secret });
}

/**
 * `dkim`: the key is read and checked here, so a bad key stops the start (or the reload) instead
 * of sending unsigned mail; no message quotes it.
 */
export function dkimConfig(dkim: NonNullable<AccountFile["dkim"]>, env: NodeJS.ProcessEnv, baseDir: string, where: string): DkimConfig {
  const at = `${where}: dkim`;
  const { private_key_file: file, private_key_env: name } = dkim;
  if ((file === undefined) === (name === undefined)) throw new ConfigError(`${at}: set exactly one of private_key_file/private_key_env`);
  const source = file === undefined ? `private_key_env ${name}` : `private_key_file ${path.resolve(baseDir, file)}`;
  let pem: string;
  try {
    pem = file === undefined ? fromEnv(env, name!, "private_key_env", at) : readFileSync(path.resolve(baseDir, file), "utf8");
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`${at}: ${source} cannot be read (${(err as NodeJS.ErrnoException).code ?? "error"})`);
  }
  return Object.freeze({ domain: dkim.domain, selector: dkim.selector, privateKey: dkimKey(pem, `${at}: the key from ${source}`) });
}

/** An RSA private key of at least 1024 bits (RFC 8301) as PKCS#8 PEM; the message never quotes it. */
function dkimKey(pem: string, what: string): string {
  let key;
  try {
    key = createPrivateKey({ key: pem, format: "pem" });
  } catch {
    throw new ConfigError(`${what} is not an unencrypted PEM private key`);
  }
  // nodemailer's signer writes a=rsa-sha256 and signs with RSA only; Ed25519 (RFC 8463) it cannot.
  if (key.asymmetricKeyType !== "rsa") {
    throw new ConfigError(`${what} is ${key.asymmetricKeyType ?? "not RSA"}: only RSA keys can sign (nodemailer signs rsa-sha256 only)`);
  }
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < 1024) throw new ConfigError(`${what} has ${bits} bits: DKIM needs at least 1024 (2048 recommended)`);
  return key.export({ type: "pkcs8", format: "pem" }).toString();
}
