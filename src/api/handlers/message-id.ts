// A Message-ID named in a request ("<a@b>" or "a@b"), in the normal form it is stored under.
import { normalizeMessageId } from "../../message/threading.js";
import { invalidArgument } from "./errors.js";

export function requestMessageId(field: string, value: string): string {
  const id = normalizeMessageId(value);
  if (!id) throw invalidArgument([{ field, reason: "MESSAGE_ID_INVALID", description: `${field} is not a Message-ID` }]);
  return id;
}
