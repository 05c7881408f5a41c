// accounts[].suppression.reason_classes: an account moves bounce reasons between classes; a
// reason or class that does not exist is refused with its full path and the near miss.
import { expect, test } from "vitest";
import { parseConfig } from "../../src/config/config.js";
import { reasonClass } from "../../src/config/reason-classes.js";
import { DEFAULT_REASON_CLASS } from "../../src/message/bounce-reasons.js";
import { configErrorOf } from "./config-error.js";

const ENV = { DATABASE_URL: "mysql://root@127.0.0.1:3306/x", PORT: "0" };
const withSuppression = (suppression: unknown) => ({
  accounts: [{ id: 7, from: "Ops <ops@example.com>", smtp: { host: "smtp.example.com" }, suppression }],
});

function configError(suppression: unknown): string {
  return configErrorOf(() => parseConfig(withSuppression(suppression), ENV, "/srv/outbox"));
}

test("overrides apply to the named reasons only, next to the soft-bounce rule", () => {
  const config = parseConfig(
    withSuppression({ soft_bounce_limit: 3, reason_classes: { mailbox_full: "suppress", blocked: "soft", complaint: "suppress" } }),
    ENV,
    "/",
  );
  const account = config.accounts.get(7)!;
  expect(account.softBounces).toEqual({ limit: 3, windowMs: 7 * 24 * 3_600_000 });
  expect(reasonClass(account, "mailbox_full")).toBe("suppress");
  expect(reasonClass(account, "blocked")).toBe("soft");
  expect(reasonClass(account, "user_unknown")).toBe("suppress");
  expect(reasonClass(account, "spam_detected")).toBe("sender");
  expect(Object.isFrozen(account.reasonClasses)).toBe(true);
  // Without the setting: the taxonomy's defaults, and no soft rule.
  const plain = parseConfig(withSuppression({}), ENV, "/").accounts.get(7)!;
  expect(plain.reasonClasses).toBeUndefined();
  expect(plain.softBounces).toBeUndefined();
  expect(reasonClass(plain, "mailbox_full")).toBe(DEFAULT_REASON_CLASS.mailbox_full);
});

test.each([
  [
    { reason_classes: { mailbox_ful: "suppress" } },
    "account 7: suppression.reason_classes.mailbox_ful: unknown bounce reason (did you mean mailbox_full?)",
  ],
  [
    { reason_classes: { blocked: "sofft" } },
    'account 7: suppression.reason_classes.blocked: "sofft" is not a class (did you mean soft?); one of suppress, soft, sender',
  ],
  [{ reason_classes: { blocked: 1 } }, "account 7: suppression.reason_classes.blocked: 1 is not a class; one of suppress, soft, sender"],
  [{ reason_classes: { bogus_reason: "soft" } }, "account 7: suppression.reason_classes.bogus_reason: unknown bounce reason"],
  [
    { reason_classes: ["blocked"] },
    'account 7: suppression.reason_classes must be an object of reason: class, e.g. { "mailbox_full": "suppress" }',
  ],
  [{ reason_class: {} }, "account 7: suppression.reason_class: unknown setting (did you mean reason_classes?)"],
])("refused: %j", (suppression, message) => {
  expect(configError(suppression)).toBe(message);
});
