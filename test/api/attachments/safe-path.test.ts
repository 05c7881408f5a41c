// Reading a client-named file from the attachment store: every way out of the root fails, and
// what is read is the file that was opened, whatever happens to the path afterwards.
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { AttachmentFileError, openInsideRoot, readBounded } from "../../../src/api/attachments/safe-path.js";

let base: string;
let root: string;
let outside: string;

beforeAll(async () => {
  base = await mkdtemp(path.join(tmpdir(), "attachment-store-"));
  root = path.join(base, "store");
  outside = path.join(base, "outside");
  await mkdir(path.join(root, "reports"), { recursive: true });
  await mkdir(outside);
  await writeFile(path.join(root, "reports", "q1.pdf"), "inside");
  await writeFile(path.join(outside, "secret.txt"), "secret");
  await writeFile(path.join(outside, "q1.pdf"), "secret");
  await symlink(path.join(outside, "secret.txt"), path.join(root, "link-out.txt"));
  await symlink(path.join(root, "reports", "q1.pdf"), path.join(root, "link-in.pdf"));
  await symlink(outside, path.join(root, "dir-out"));
  await symlink(path.join(root, "reports"), path.join(root, "dir-in"));
  await mkdir(path.join(root, "a-directory"));
  execFileSync("mkfifo", [path.join(root, "pipe")]);
});
afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

/** The text of `rel` read through the store, or the reason it was refused. */
async function read(rel: string, limit = 1024): Promise<string> {
  try {
    const handle = await openInsideRoot(root, rel);
    try {
      return (await readBounded(handle, limit)).toString();
    } finally {
      await handle.close();
    }
  } catch (err) {
    if (err instanceof AttachmentFileError) return err.reason;
    throw err;
  }
}

describe("paths that stay inside the root are read", () => {
  test.each([
    ["a relative path", "reports/q1.pdf"],
    ["a path with a harmless ./ and ../ inside", "./reports/../reports/q1.pdf"],
    ["through a directory symlink that stays inside", "dir-in/q1.pdf"],
  ])("%s", async (_name, rel) => {
    expect(await read(rel)).toBe("inside");
  });

  test("an absolute path inside the root", async () => {
    expect(await read(path.join(root, "reports", "q1.pdf"))).toBe("inside");
  });
});

describe("every way out of the root is refused", () => {
  test.each([
    ["../ traversal", "../outside/secret.txt"],
    ["../ traversal after a directory", "reports/../../outside/secret.txt"],
    ["a symlinked file pointing out", "link-out.txt"],
    ["a symlinked directory pointing out", "dir-out/secret.txt"],
    ["a symlinked file, even one pointing inside (links are not followed)", "link-in.pdf"],
    ["the root itself", "."],
    ["a NUL byte", "reports/q1.pdf\0.txt"],
  ])("%s", async (_name, rel) => {
    expect(await read(rel)).toBe("ATTACHMENT_PATH_ESCAPES_ROOT");
  });

  test("an absolute path elsewhere", async () => {
    expect(await read(path.join(outside, "secret.txt"))).toBe("ATTACHMENT_PATH_ESCAPES_ROOT");
    expect(await read("/etc/passwd")).toBe("ATTACHMENT_PATH_ESCAPES_ROOT");
  });
});

describe("missing and unreadable files have their own reasons", () => {
  test.each([
    ["a missing file", "reports/nope.pdf", "ATTACHMENT_NOT_FOUND"],
    ["a missing directory", "nope/q1.pdf", "ATTACHMENT_NOT_FOUND"],
    ["a file used as a directory", "reports/q1.pdf/x", "ATTACHMENT_NOT_FOUND"],
    ["a directory", "a-directory", "ATTACHMENT_UNREADABLE"],
    ["a FIFO (opened without blocking)", "pipe", "ATTACHMENT_UNREADABLE"],
  ])("%s", async (_name, rel, reason) => {
    expect(await read(rel)).toBe(reason);
  });

  test("a missing root", async () => {
    await expect(openInsideRoot(path.join(base, "no-store"), "q1.pdf")).rejects.toMatchObject({ reason: "ATTACHMENT_NOT_FOUND" });
  });
});

describe("size bound while reading", () => {
  test("exactly the limit is read; one byte more is refused", async () => {
    expect(await read("reports/q1.pdf", 6)).toBe("inside");
    expect(await read("reports/q1.pdf", 5)).toBe("ATTACHMENT_TOO_LARGE");
  });
});

describe("a file swapped for a symlink", () => {
  test("swapped before the open: refused, the secret is never read", async () => {
    const file = path.join(root, "swap-before.txt");
    await writeFile(file, "inside");
    await rm(file);
    await symlink(path.join(outside, "secret.txt"), file);
    expect(await read("swap-before.txt")).toBe("ATTACHMENT_PATH_ESCAPES_ROOT");
  });

  test("a directory swapped for a symlink out: refused by the opened file's real path", async () => {
    await mkdir(path.join(root, "swap-dir"));
    await writeFile(path.join(root, "swap-dir", "q1.pdf"), "inside");
    await rename(path.join(root, "swap-dir"), path.join(base, "swap-dir-away"));
    await symlink(outside, path.join(root, "swap-dir"));
    expect(await read("swap-dir/q1.pdf")).toBe("ATTACHMENT_PATH_ESCAPES_ROOT");
  });

  test("swapped after the open: the bytes still come from the file that was checked", async () => {
    const file = path.join(root, "swap-after.txt");
    await writeFile(file, "inside");
    const handle = await openInsideRoot(root, "swap-after.txt");
    try {
      await rm(file);
      await symlink(path.join(outside, "secret.txt"), file);
      expect((await readBounded(handle, 1024)).toString()).toBe("inside");
    } finally {
      await handle.close();
    }
  });
});
