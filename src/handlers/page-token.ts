// Opaque page tokens for ListOutbox: a keyset cursor (the last id of the page), base64url.
import { invalidArgument } from "./errors.js";

const PREFIX = "o1:";

export function encodePageToken(lastId: number): string {
  return Buffer.from(`${PREFIX}${lastId}`).toString("base64url");
}

export function decodePageToken(token: string): number {
  const text = token.length <= 64 ? Buffer.from(token, "base64url").toString() : "";
  const id = text.startsWith(PREFIX) ? Number(text.slice(PREFIX.length)) : NaN;
  if (!Number.isSafeInteger(id) || id < 1) {
    throw invalidArgument([{ field: "page_token", reason: "PAGE_TOKEN_INVALID", description: "page_token is not a token this server issued" }]);
  }
  return id;
}
