// Reading a file by a client-supplied path, confined to the attachment store. The string is
// checked first, but what decides is the file actually opened: the last component is opened
// without following a symlink, and the opened descriptor's real path must lie inside the real
// root. A path swapped for a symlink between any check and the read therefore fails, and a
// file swapped after the open is no longer what is read: the bytes come from the descriptor.
import { constants, type Stats } from "node:fs";
import { open, readlink, realpath, stat, type FileHandle } from "node:fs/promises";
import path from "node:path";
import type { AttachmentRefusal } from "../../message/attachment-policy.js";

export class AttachmentFileError extends Error {
  override name = "AttachmentFileError";
  constructor(readonly reason: Extract<AttachmentRefusal, `ATTACHMENT_${string}`>) {
    super(reason);
  }
}

// O_NONBLOCK: opening a FIFO planted in the store must not hang the request.
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0);

/** Opens `rel` (relative to root, or absolute inside it) as a regular file inside the root. */
export async function openInsideRoot(root: string, rel: string): Promise<FileHandle> {
  if (rel.includes("\0")) throw new AttachmentFileError("ATTACHMENT_PATH_ESCAPES_ROOT");
  const realRoot = await realpath(root).catch((err: unknown) => {
    throw fileError(err);
  });
  const target = path.resolve(root, rel);
  if (!isInside(root, target) && !isInside(realRoot, target)) throw new AttachmentFileError("ATTACHMENT_PATH_ESCAPES_ROOT");
  // The lexically resolved path: the kernel never sees "..", which it would apply after links.
  const handle = await open(target, OPEN_FLAGS).catch((err: unknown) => {
    throw fileError(err);
  });
  try {
    const info = await handle.stat();
    if (!isInside(realRoot, await realPathOf(handle, info, target))) throw new AttachmentFileError("ATTACHMENT_PATH_ESCAPES_ROOT");
    if (!info.isFile()) throw new AttachmentFileError("ATTACHMENT_UNREADABLE");
    return handle;
  } catch (err) {
    await handle.close();
    throw err;
  }
}

/** Reads the whole file; more than `limit` bytes fails, also for a file that grows while read. */
export async function readBounded(handle: FileHandle, limit: number): Promise<Buffer> {
  try {
    for (;;) {
      const { size } = await handle.stat();
      if (size > limit) throw new AttachmentFileError("ATTACHMENT_TOO_LARGE");
      // One spare byte shows whether the file grew after it was measured: then measure again.
      const buf = Buffer.alloc(size + 1);
      let filled = 0;
      for (let n = -1; n !== 0 && filled < buf.length; filled += n) {
        n = (await handle.read(buf, filled, buf.length - filled, filled)).bytesRead;
      }
      if (filled <= size) return buf.subarray(0, filled);
    }
  } catch (err) {
    throw err instanceof AttachmentFileError ? err : fileError(err);
  }
}

/** Where the descriptor really points: /proc on Linux, else the path's real location if it is the same file. */
async function realPathOf(handle: FileHandle, info: Stats, target: string): Promise<string> {
  try {
    return await readlink(`/proc/self/fd/${handle.fd}`);
  } catch {
    const real = await realpath(target).catch((err: unknown) => {
      throw fileError(err);
    });
    const now = await stat(real);
    if (now.dev !== info.dev || now.ino !== info.ino) throw new AttachmentFileError("ATTACHMENT_PATH_ESCAPES_ROOT");
    return real;
  }
}

function isInside(root: string, target: string): boolean {
  const rel = path.relative(root, target);
  return rel !== "" && rel !== ".." && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel);
}

function fileError(err: unknown): AttachmentFileError {
  switch ((err as NodeJS.ErrnoException).code) {
    case "ENOENT":
    case "ENOTDIR":
      return new AttachmentFileError("ATTACHMENT_NOT_FOUND");
    case "ELOOP": // the last component is a symlink: links are never followed out of the store
      return new AttachmentFileError("ATTACHMENT_PATH_ESCAPES_ROOT");
    default:
      return new AttachmentFileError("ATTACHMENT_UNREADABLE");
  }
}
