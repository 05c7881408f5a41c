// Turning SMTP/nodemailer errors into a class and a transient/permanent verdict.
import { expect, test } from "vitest";
import { classifySmtpError, providerMessageId } from "../../src/delivery/classify.js";

/** The shape nodemailer rejects with. */
function smtpError(fields: { code?: string; responseCode?: number; response?: string; message?: string }) {
  return Object.assign(new Error(fields.message ?? "error"), fields);
}

test.each([
  [421, "421 4.7.0 Try again later"],
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

test("ETIMEDOUT and connection errors are transient", () => {
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

test("EAUTH is AUTH and transient, even with a 5xx reply", () => {
  const out = classifySmtpError(smtpError({ code: "EAUTH", responseCode: 535, response: "535 Authentication credentials invalid" }));
  expect(out).toEqual({ kind: "failed", errorClass: "AUTH", permanent: false, error: "535 Authentication credentials invalid" });
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
