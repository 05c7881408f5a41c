// The attachment policy: config file keys, the reference's defaults, and content type matching.
import path from "node:path";
import { describe, expect, test } from "vitest";
import { ConfigError, parseConfig } from "../../../src/config/config.js";
import { DEFAULT_ATTACHMENT_POLICY, contentTypeAllowed, mediaType } from "../../../src/message/attachment-policy.js";

const config = (json: Record<string, unknown>) => parseConfig(json, {}, "/etc/outbox");

describe("config", () => {
  test("defaults: 25 MiB per file, the reference's five types, no store", () => {
    const c = config({});
    expect(c.attachmentPolicy).toEqual({
      maxSizeBytes: 26_214_400,
      maxTotalBytes: 33_554_432,
      allowedContentTypes: ["application/pdf", "image/jpeg", "image/png", "text/plain", "application/zip"],
    });
    expect(c.attachmentStore).toBeUndefined();
  });

  test("attachment_policy and attachment_store are read; a relative dir is against the config file", () => {
    const c = config({
      attachment_policy: { max_size_bytes: 1000, max_total_bytes: 5000, allowed_content_types: ["Image/GIF", "text/csv"] },
      attachment_store: { dir: "files" },
    });
    expect(c.attachmentPolicy).toEqual({ maxSizeBytes: 1000, maxTotalBytes: 5000, allowedContentTypes: ["image/gif", "text/csv"] });
    expect(c.attachmentStore).toEqual({ dir: path.resolve("/etc/outbox", "files") });
  });

  test("a partial policy keeps the other defaults", () => {
    expect(config({ attachment_policy: { max_size_bytes: 10 } }).attachmentPolicy).toEqual({
      ...DEFAULT_ATTACHMENT_POLICY,
      maxSizeBytes: 10,
    });
  });

  test.each([
    [{ attachment_policy: { max_size_bytes: 0 } }, "attachment_policy: max_size_bytes must be a positive integer"],
    [{ attachment_policy: { max_size: 10 } }, "attachment_policy.max_size: unknown setting"],
    [{ attachment_policy: { allowed_content_types: "application/pdf" } }, "allowed_content_types must be a list of type/subtype values"],
    [
      { attachment_policy: { allowed_content_types: ["text/plain; charset=utf-8"] } },
      "allowed_content_types must be a list of type/subtype values",
    ],
    [{ attachment_store: {} }, "attachment_store.dir is required"],
    [{ attachment_store: "files" }, "attachment_store must be an object"],
  ])("refused: %j", (json, message) => {
    expect(() => config(json)).toThrow(ConfigError);
    expect(() => config(json)).toThrow(message);
  });
});

describe("content types compare by type/subtype, ignoring case and parameters", () => {
  const policy = DEFAULT_ATTACHMENT_POLICY;
  test.each([
    "application/pdf",
    "Application/PDF",
    "text/plain; charset=utf-8",
    'TEXT/Plain;charset="utf-8"; format=flowed',
    " image/png ",
  ])("allowed: %j", (type) => {
    expect(contentTypeAllowed(policy, type)).toBe(true);
  });

  test.each([
    "",
    "text/html",
    "application/pdfx",
    "application/x-pdf",
    "text/plain\r\nBcc: eve@evil.test",
    "text/plain; charset=utf-8\r\n",
    "text/plain; charset",
    "text /plain",
    "pdf",
    `text/plain; x=${"y".repeat(300)}`,
  ])("refused: %j", (type) => {
    expect(contentTypeAllowed(policy, type)).toBe(false);
  });

  test("mediaType names the type/subtype of a well-formed value only", () => {
    expect(mediaType('Image/JPEG; name="a b.jpg"')).toBe("image/jpeg");
    expect(mediaType('image/jpeg; name="a\rb"')).toBeUndefined();
  });
});
