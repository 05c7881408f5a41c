// Structured JSON logs. Secrets never reach a log line: known secret fields are censored, and
// addresses are written as first character + ***@domain.
import pino from "pino";

export type Logger = pino.Logger;

export function createLogger(level = process.env.LOG_LEVEL || "info", destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: undefined,
      redact: {
        paths: [
          "password",
          "pass",
          "accessToken",
          "oauth_token",
          "authorization",
          "apiKey",
          "*.password",
          "*.pass",
          "*.accessToken",
          "*.authorization",
          "clientSecret",
          "refreshToken",
          "privateKey",
          "*.clientSecret",
          "*.refreshToken",
          "*.privateKey",
          "body",
          "body_text",
          "body_html",
        ],
        censor: "[redacted]",
      },
    },
    destination,
  );
}

/** "alice@example.com" -> "a***@example.com"; the display name is dropped. */
export function redactAddress(address: string): string {
  const bare = /<([^>]*)>\s*$/.exec(address)?.[1] ?? address;
  const at = bare.lastIndexOf("@");
  if (at < 1) return "***";
  return `${bare[0]}***@${bare.slice(at + 1)}`;
}

/** Free text (an SMTP reply, say) with every address in it redacted as by redactAddress. */
export function redactAddressesIn(text: string): string {
  return text.replace(/[^\s<>"'(),;:[\]]+@[A-Za-z0-9.-]+/g, redactAddress);
}
