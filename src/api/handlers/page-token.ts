// Paging for the List RPCs: the page size rule, and opaque page tokens (a keyset cursor, the
// last id of the page, base64url).
import { invalidArgument } from "./errors.js";

const PREFIX = "o1:";
const DEFAULT_PAGE_SIZE = 50;
const MAX_PAGE_SIZE = 500;

/** 0 means the default; anything outside 1..500 is refused with the reference's message. */
export function pageSize(requested: number): number {
  const size = requested === 0 ? DEFAULT_PAGE_SIZE : requested;
  if (size < 1 || size > MAX_PAGE_SIZE) {
    throw invalidArgument([{ field: "page_size", reason: "LIMIT_OUT_OF_RANGE", description: "limit_out_of_range" }]);
  }
  return size;
}

export function encodePageToken(lastId: number): string {
  return Buffer.from(`${PREFIX}${lastId}`).toString("base64url");
}

export function decodePageToken(token: string): number {
  const text = token.length <= 64 ? Buffer.from(token, "base64url").toString() : "";
  const id = text.startsWith(PREFIX) ? Number(text.slice(PREFIX.length)) : NaN;
  if (!Number.isSafeInteger(id) || id < 1) {
    throw invalidArgument([
      { field: "page_token", reason: "PAGE_TOKEN_INVALID", description: "page_token is not a token this server issued" },
    ]);
  }
  return id;
}
