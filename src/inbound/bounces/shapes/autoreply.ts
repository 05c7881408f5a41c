// Auto-replies (RFC 3834 and the vacation, out-of-office and autoresponder mail that predates it)
// are never bounces: the recipient exists and read nothing. MTAs mark their bounces
// "Auto-Submitted: auto-replied" too, so a report's own signs (a status part, a mailer daemon)
// win over these.
import type { Mail } from "../mime.js";
import { decodeWords } from "../mime.js";

const AUTO_HEADERS = ["x-autoreply", "x-autorespond", "x-autoresponder", "x-vacation", "x-mail-autoreply"];
const AUTO_SUBJECT =
  /^(?:(?:re|aw|fw|fwd)\s{0,2}:\s{0,2})?(?:auto(?:matic)?[ -]?(?:reply|response|answer|antwort)|autoreply|out of (?:the )?office|vacation|away from|on (?:leave|holiday|vacation)|abwesenheit|absence|r[ée]ponse automatique|respuesta autom[áa]tica|risposta automatica|自動(?:返信|応答))/i;
const DAEMON = /mailer-daemon|postmaster|mail delivery|mail administrator|\bmmsc\b/i;

export function isAutoReply(mail: Mail): boolean {
  const h = mail.headers;
  const signed =
    AUTO_HEADERS.some((name) => h.get(name) !== undefined) ||
    /auto[_-]reply/i.test(h.get("precedence") ?? "") ||
    /^auto-replied/i.test(h.get("auto-submitted") ?? "") ||
    AUTO_SUBJECT.test(decodeWords(h.get("subject") ?? "").trim());
  if (!signed) return false;
  const reportParts = mail.parts.some((p) => p.type === "message/delivery-status" || p.type === "message/feedback-report");
  return !reportParts && !DAEMON.test(h.get("from") ?? "");
}
