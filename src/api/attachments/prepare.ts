// A request's attachments -> the files to commit with its row, or the reasons to refuse them.
// Cheap checks come first and report every problem; only a request that passes them has its
// path attachments read from the store (bounded by the size limits while reading).
import type { Attachment as AttachmentInput } from "../../../gen/email/v1/outbox_pb.js";
import type { Config } from "../../config/config.js";
import { AddressError, assertHeaderSafe } from "../../message/address.js";
import type { MessageAttachment } from "../../outbox/types.js";
import {
  ATTACHMENT_REFUSALS,
  MAX_ATTACHMENTS,
  MAX_FILENAME_CHARS,
  contentTypeAllowed,
  type AttachmentRefusal,
} from "../../message/attachment-policy.js";
import { AttachmentFileError, openInsideRoot, readBounded } from "./safe-path.js";

export interface AttachmentProblem {
  field: string;
  reason: string;
  description: string;
}

export type AttachmentSettings = Pick<Config, "attachmentPolicy" | "attachmentStore">;
type Input = Pick<AttachmentInput, "filename" | "contentType" | "content" | "path" | "contentId">;

// Code points, no controls (C0, DEL, C1) and no lone surrogates (not encodable as UTF-8).
const FILENAME = new RegExp(`^[^\\p{Cc}\\p{Cs}]{1,${MAX_FILENAME_CHARS}}$`, "u");
// What may stand between the angle brackets of a Content-ID.
const CONTENT_ID = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.@-]{1,250}$/;

function problem(field: string, reason: AttachmentRefusal): AttachmentProblem {
  return { field, reason, description: ATTACHMENT_REFUSALS[reason] };
}

/** Everything that can be decided without reading a file. */
export function checkAttachments(inputs: readonly Input[], settings: AttachmentSettings): AttachmentProblem[] {
  if (inputs.length > MAX_ATTACHMENTS) return [problem("attachments", "TOO_MANY_ATTACHMENTS")];
  const policy = settings.attachmentPolicy;
  const problems: AttachmentProblem[] = [];
  inputs.forEach((a, i) => {
    const at = `attachments[${i}]`;
    if ((a.content !== undefined) === Boolean(a.path)) problems.push(problem(at, "ATTACHMENT_SOURCE_INVALID"));
    else if (a.path && !settings.attachmentStore) problems.push(problem(`${at}.path`, "ATTACHMENT_STORE_NOT_CONFIGURED"));
    else if (a.content && a.content.length > policy.maxSizeBytes) problems.push(problem(`${at}.content`, "ATTACHMENT_TOO_LARGE"));
    try {
      assertHeaderSafe(a.filename, `${at}.filename`);
      if (!FILENAME.test(a.filename)) problems.push(problem(`${at}.filename`, "ATTACHMENT_FILENAME_INVALID"));
    } catch (err) {
      if (!(err instanceof AddressError)) throw err;
      problems.push({ field: `${at}.filename`, reason: err.reason, description: err.message });
    }
    if (!contentTypeAllowed(policy, a.contentType)) problems.push(problem(`${at}.content_type`, "ATTACHMENT_CONTENT_TYPE_NOT_ALLOWED"));
    if (a.contentId && !CONTENT_ID.test(a.contentId)) problems.push(problem(`${at}.content_id`, "ATTACHMENT_CONTENT_ID_INVALID"));
  });
  return problems;
}

/** Reads path attachments and applies the total limit; call after checkAttachments found nothing. */
export async function resolveAttachments(
  inputs: readonly Input[],
  settings: AttachmentSettings,
): Promise<{ attachments: MessageAttachment[]; problems: AttachmentProblem[] }> {
  const { maxSizeBytes, maxTotalBytes } = settings.attachmentPolicy;
  const attachments: MessageAttachment[] = [];
  const problems: AttachmentProblem[] = [];
  let total = 0;
  for (const [i, a] of inputs.entries()) {
    let content: Buffer;
    if (a.content !== undefined) {
      content = Buffer.from(a.content.buffer, a.content.byteOffset, a.content.byteLength);
    } else {
      try {
        const read = await readFromStore(settings.attachmentStore!.dir, a.path!, maxSizeBytes, maxTotalBytes - total);
        if (!read) {
          problems.push(problem("attachments", "ATTACHMENTS_TOO_LARGE"));
          break;
        }
        content = read;
      } catch (err) {
        if (!(err instanceof AttachmentFileError)) throw err;
        problems.push(problem(`attachments[${i}].path`, err.reason));
        continue;
      }
    }
    total += content.length;
    if (total > maxTotalBytes) {
      problems.push(problem("attachments", "ATTACHMENTS_TOO_LARGE"));
      break;
    }
    attachments.push({ filename: a.filename, contentType: a.contentType.trim(), contentId: a.contentId || null, content });
  }
  return { attachments, problems };
}

/** The file's bytes; undefined when it fits the size limit but not the room left in the total. */
async function readFromStore(root: string, rel: string, maxSize: number, room: number): Promise<Buffer | undefined> {
  const handle = await openInsideRoot(root, rel);
  try {
    const { size } = await handle.stat();
    if (size <= maxSize && size > room) return undefined;
    return await readBounded(handle, maxSize);
  } finally {
    await handle.close();
  }
}
