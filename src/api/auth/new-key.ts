// A new API key and its config entry, from command-line style options.
import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import { generateKey, hashKey } from "./keys.js";
import { isScope, SCOPES, type Scope } from "./scopes.js";

export interface ApiKeyEntry {
  id: string;
  sha256: string;
  accounts: number[] | "*";
  scopes: Scope[];
}

export class UsageError extends Error {
  override name = "UsageError";
}

export const USAGE = "usage: npm run key:create -- --accounts 1,2|'*' --scopes send,read[,...] [--id name]";

/** Parses `--accounts`, `--scopes` and `--id`; returns the key (shown once) and its entry. */
export function newKey(args: string[]): { key: string; entry: ApiKeyEntry } {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: { accounts: { type: "string" }, scopes: { type: "string" }, id: { type: "string" } },
      strict: true,
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (!values.accounts || !values.scopes) throw new UsageError("--accounts and --scopes are required");
  const accounts = values.accounts.trim() === "*" ? "*" : values.accounts.split(",").map((a) => Number(a.trim()));
  if (accounts !== "*" && !accounts.every((a) => Number.isInteger(a) && a >= 1 && a <= 0xffffffff)) {
    throw new UsageError(`--accounts must be '*' or account ids separated by commas`);
  }
  const scopes = [...new Set(values.scopes.split(",").map((s) => s.trim()))];
  const bad = scopes.filter((s) => !isScope(s));
  if (bad.length) throw new UsageError(`unknown scope ${bad.join(", ")} (${SCOPES.join(", ")})`);
  const id = values.id ?? `key-${randomBytes(4).toString("hex")}`;
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(id)) throw new UsageError("--id must be 1-64 letters, digits, '.', '_' or '-'");
  const key = generateKey();
  return { key, entry: { id, sha256: hashKey(key), accounts, scopes: scopes as Scope[] } };
}
