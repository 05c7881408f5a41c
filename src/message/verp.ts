// VERP bounce addresses: the envelope sender of each message names its outbox row,
// `bounce+{outbox_id}-{hash}@{domain}`, where the hash (an HMAC under the account's secret)
// makes a forged bounce for another row recognisable, and ignored.
import { createHmac, timingSafeEqual } from "node:crypto";

export interface VerpConfig {
  domain: string;
  secret: string;
}

function hash(accountId: number, outboxId: number, verp: VerpConfig): string {
  return createHmac("sha256", verp.secret).update(`${accountId}.${outboxId}`).digest("hex").slice(0, 16);
}

export function verpAddress(accountId: number, outboxId: number, verp: VerpConfig): string {
  return `bounce+${outboxId}-${hash(accountId, outboxId, verp)}@${verp.domain}`;
}

/**
 * The outbox id a VERP address names. `undefined` when no such address is among `addresses`;
 * `"forged"` when one is but its hash is wrong.
 */
export function verpOutboxId(addresses: readonly string[], accountId: number, verp: VerpConfig): number | "forged" | undefined {
  let forged = false;
  for (const address of addresses) {
    const m = /bounce\+(\d{1,20})-([0-9a-f]{16})@([^\s>]+)/i.exec(address);
    if (!m || m[3]!.toLowerCase() !== verp.domain.toLowerCase()) continue;
    const id = Number(m[1]);
    const expected = Buffer.from(hash(accountId, id, verp));
    if (Number.isSafeInteger(id) && timingSafeEqual(expected, Buffer.from(m[2]!.toLowerCase()))) return id;
    forged = true;
  }
  return forged ? "forged" : undefined;
}
