// The one error a bad config raises: its own module so config.ts and the parts it delegates to
// (webhooks.ts) throw it without importing each other.
export class ConfigError extends Error {
  override name = "ConfigError";
}
