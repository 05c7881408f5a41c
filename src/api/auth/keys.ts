// API keys: generated once, shown once, kept only as a SHA-256 hash in the config. A presented
// key is hashed and compared with every configured hash in constant time.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { Scope } from "./scopes.js";

/** A configured key, as read from `api_keys`. */
export interface ApiKey {
  id: string;
  /** Lower-case hex SHA-256 of the key's UTF-8 bytes. */
  sha256: string;
  accounts: ReadonlySet<number> | "all";
  scopes: ReadonlySet<Scope>;
}

/** Makes keys recognisable in a leaked file or a secret scanner. */
export const KEY_PREFIX = "eo_";

export function generateKey(): string {
  return KEY_PREFIX + randomBytes(32).toString("base64url");
}

export function hashKey(key: string): string {
  return createHash("sha256").update(key, "utf8").digest("hex");
}

/** The configured key whose hash matches, if any; looks at every key whatever matches first. */
export function findKey(keys: readonly ApiKey[], presented: string): ApiKey | undefined {
  const digest = createHash("sha256").update(presented, "utf8").digest();
  let found: ApiKey | undefined;
  for (const key of keys) {
    if (timingSafeEqual(digest, Buffer.from(key.sha256, "hex")) && !found) found = key;
  }
  return found;
}
