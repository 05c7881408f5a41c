// The refusal a config test expects: the message of the ConfigError `parse` throws.
import { expect } from "vitest";
import { ConfigError } from "../../src/config/config.js";

/** Fails the test if `parse` throws nothing, or anything but a ConfigError. */
export function configErrorOf(parse: () => unknown): string {
  try {
    parse();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error("expected a ConfigError");
}
