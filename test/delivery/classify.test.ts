// Turning SMTP/nodemailer errors into a class and a transient/permanent verdict.
import { describe, expect, test } from "vitest";
import { classifySmtpError, providerMessageId } from "../../src/delivery/classify.js";

/** The shape nodemailer rejects with. */
function smtpError(fields: {
  code?: string;
  responseCode?: number;
  response?: string;
  message?: string;
  command?: string;
  messageHandedOver?: boolean;
}) {
  return Object.assign(new Error(fields.message ?? "error"), fields);
}

test.each([
  [451, "451 4.3.0 Temporary failure"],
  [452, "452 4.2.2 Mailbox full"],
])("%i is SMTP_TRANSIENT and transient, with the server's text", (responseCode, response) => {
  const out = classifySmtpError(smtpError({ code: "EMESSAGE", responseCode, response }));
  expect(out).toEqual({ kind: "failed", errorClass: "SMTP_TRANSIENT", permanent: false, error: response });
});

test.each([
  [550, "550 5.1.1 No such user"],
  [552, "552 5.3.4 Message too big"],
  [554, "554 5.7.1 Rejected"],
])("%i is SMTP_PERMANENT and permanent", (responseCode, response) => {
  const out = classifySmtpError(smtpError({ code: "EENVELOPE", responseCode, response }));
  expect(out).toEqual({ kind: "failed", errorClass: "SMTP_PERMANENT", permanent: true, error: response });
});

test("ETIMEDOUT and connection errors are transient (and the relay's)", () => {
  expect(classifySmtpError(smtpError({ code: "ETIMEDOUT", message: "Greeting never received" }))).toMatchObject({
    errorClass: "TIMEOUT",
    permanent: false,
    error: "Greeting never received",
  });
  expect(classifySmtpError(smtpError({ code: "ECONNECTION", message: "connect ECONNREFUSED 127.0.0.1:1" }))).toMatchObject({
    errorClass: "NETWORK",
    permanent: false,
  });
  expect(classifySmtpError(smtpError({ code: "ESOCKET", message: "read ECONNRESET" }))).toMatchObject({
    errorClass: "NETWORK",
    permanent: false,
  });
});

test("EAUTH is AUTH and transient, even with a 5xx reply, and the relay's", () => {
  const out = classifySmtpError(smtpError({ code: "EAUTH", responseCode: 535, response: "535 Authentication credentials invalid" }));
  expect(out).toEqual({
    kind: "failed",
    errorClass: "AUTH",
    permanent: false,
    error: "535 Authentication credentials invalid",
    relayLevel: true,
  });
});

test("anything else is UNKNOWN and transient; the text is one bounded line", () => {
  const out = classifySmtpError("weird\r\n  thing");
  expect(out).toMatchObject({ errorClass: "UNKNOWN", permanent: false, error: "weird thing" });
  expect(classifySmtpError(smtpError({ message: "x".repeat(5000) })).error.length).toBeLessThanOrEqual(1001);
});

test("provider_message_id is smtp- and the final reply text without its code", () => {
  expect(providerMessageId("250 2.0.0 OK queued as ABC")).toBe("smtp-2.0.0 OK queued as ABC");
  expect(providerMessageId(undefined)).toBe("smtp-accepted");
});

describe("relay-level: the relay's own failure, which another relay need not share", () => {
  test.each([
    ["connection refused", { code: "ECONNECTION", message: "connect ECONNREFUSED 127.0.0.1:1", command: "CONN" }, "NETWORK"],
    ["connect timeout", { code: "ETIMEDOUT", message: "Connection timeout", command: "CONN" }, "TIMEOUT"],
    ["TLS failure", { code: "ETLS", message: "Error initiating TLS", command: "STARTTLS" }, "NETWORK"],
    [
      "421 at the greeting",
      { code: "EPROTOCOL", responseCode: 421, response: "421 4.3.2 Service not available", command: "CONN" },
      "SMTP_TRANSIENT",
    ],
    ["421 after DATA", { code: "EMESSAGE", responseCode: 421, response: "421 4.7.0 Try again later", command: "DATA" }, "SMTP_TRANSIENT"],
    ["4xx to EHLO", { code: "EPROTOCOL", responseCode: 451, response: "451 try later", command: "EHLO" }, "SMTP_TRANSIENT"],
    [
      "4xx to MAIL FROM",
      { code: "EENVELOPE", responseCode: 451, response: "451 4.3.0 sender check failed", command: "MAIL FROM" },
      "SMTP_TRANSIENT",
    ],
    [
      "5xx to MAIL FROM",
      { code: "EENVELOPE", responseCode: 550, response: "550 5.7.1 relay denied", command: "MAIL FROM" },
      "SMTP_PERMANENT",
    ],
    ["auth failure", { code: "EAUTH", responseCode: 535, response: "535 bad credentials", command: "AUTH PLAIN" }, "AUTH"],
  ])("%s", (_, fields, errorClass) => {
    expect(classifySmtpError(smtpError(fields))).toMatchObject({ errorClass, relayLevel: true });
  });

  test.each([
    ["a recipient's 5xx", { code: "EENVELOPE", responseCode: 550, response: "550 5.1.1 No such user", command: "RCPT TO" }],
    ["a recipient's 4xx", { code: "EENVELOPE", responseCode: 452, response: "452 4.2.2 Mailbox full", command: "RCPT TO" }],
    ["a 5xx after DATA", { code: "EMESSAGE", responseCode: 554, response: "554 5.7.1 spam", command: "DATA" }],
    ["a 451 after DATA", { code: "EMESSAGE", responseCode: 451, response: "451 4.3.0 later", command: "DATA" }],
    ["a break after the whole message", { code: "ECONNECTION", message: "Connection closed", command: "CONN", messageHandedOver: true }],
    ["the message's own error", { code: "EMESSAGE", message: "Message size larger than allowed 10", command: "MAIL FROM" }],
  ])("not %s", (_, fields) => {
    expect(classifySmtpError(smtpError(fields)).relayLevel).toBeUndefined();
  });
});
