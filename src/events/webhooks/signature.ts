// Standard Webhooks signing: `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`,
// one space-separated entry per secret, so a receiver that knows either the old or the new
// secret accepts a request while a secret is rotated.
import { createHmac } from "node:crypto";
import { inspect } from "node:util";

/** Signing keys that never print: logging a config shows "[redacted]", not the bytes. */
export class SigningSecrets {
  readonly #keys: readonly Buffer[];
  constructor(keys: readonly Buffer[]) {
    this.#keys = Object.freeze([...keys]);
  }
  get count(): number {
    return this.#keys.length;
  }
  /** The header value for one request. */
  sign(id: string, timestampSeconds: number, body: string): string {
    const content = `${id}.${timestampSeconds}.${body}`;
    return this.#keys.map((k) => `v1,${createHmac("sha256", k).update(content).digest("base64")}`).join(" ");
  }
  toJSON(): string {
    return "[redacted]";
  }
  [inspect.custom](): string {
    return "[redacted]";
  }
}
