// A start that fails at its last part. No config the parser accepts makes the IMAP ingest (the last
// part to start) fail: every connection failure is retried inside it. A config object the parser
// never produces stands in for a bug there: an `imap` section JSON cannot compare (a BigInt port).
import type { Config } from "../../src/config/config.js";

export function withUnappliableImap(config: Config, accountId: number): Config {
  const account = config.accounts.get(accountId)!;
  const imap = { ...account.imap!, port: BigInt(account.imap!.port) as unknown as number };
  return { ...config, accounts: new Map([...config.accounts, [accountId, { ...account, imap }]]) };
}

/** The account JSON of a config whose IMAP ingest will be made to fail (no server is reached). */
export function imapAccount(id: number) {
  return {
    id,
    from: `a${id}@example.com`,
    file_dir: "mail-out",
    imap: { host: "127.0.0.1", port: 9, tls: "none", user: "u", auth: { password: "p" } },
  };
}
