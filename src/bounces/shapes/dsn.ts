// RFC 3464 delivery status notifications: the per-recipient field groups, wherever the report
// put them (a message/delivery-status part, a text part, quoted-printable, or the raw text of a
// broken MIME message), every recipient of the report.
import { recipientFields, type RecipientFields } from "../fields.js";
import type { Notice } from "../notice.js";
import { enhancedCode, fieldAddress } from "../text.js";
import { dedupe, MAX_RECIPIENTS, type Found } from "./found.js";

/**
 * The failed and delayed recipients, and whether the DSN reports deliveries only (a success
 * report). A recipient field that is no address (a pipe, a file, a bare host) is left for the
 * notice to name.
 */
export function dsnFound(notice: Notice): { found: Found[]; deliveredOnly: boolean } {
  const out: Found[] = [];
  let delivered = 0;
  let failed = 0;
  for (const text of notice.fieldTexts) {
    for (const fields of recipientFields(text, MAX_RECIPIENTS)) {
      const first = (name: string) => fields.get(name)?.[0];
      const fieldStatus = enhancedCode(first("status") ?? "");
      const action = actionOf((first("action") ?? "").toLowerCase(), fieldStatus);
      if (!action) {
        delivered++;
        continue;
      }
      failed++;
      const found = recipient(fields, action, fieldStatus);
      if (found) out.push(found);
    }
    if (out.length >= MAX_RECIPIENTS) break;
  }
  return { found: dedupe(out), deliveredOnly: delivered > 0 && failed === 0 };
}

function recipient(fields: RecipientFields, action: Found["action"], fieldStatus: string | undefined): Found | undefined {
  const first = (name: string) => fields.get(name)?.[0];
  const address = fieldAddress(first("final-recipient")) ?? fieldAddress(first("original-recipient"));
  if (!address) return undefined;
  // "smtp; 550 5.1.1 ..." -> "550 5.1.1 ...": the diagnostic type says nothing about the cause.
  const text = (first("diagnostic-code") ?? "").replace(/^[A-Za-z0-9-]{1,20};\s*/, "");
  return { address, action, text, ...(fieldStatus ? { fieldStatus } : {}) };
}

/** RFC 3464 actions; "delivered", "relayed" and "expanded" (and a 2.x.x status) are no failures. */
function actionOf(action: string, status: string | undefined): Found["action"] | undefined {
  if (status?.startsWith("2")) return undefined;
  if (action.startsWith("failed")) return "failed";
  if (action.startsWith("delayed")) return "delayed";
  if (action !== "") return undefined;
  return status?.startsWith("4") ? "delayed" : "failed";
}
