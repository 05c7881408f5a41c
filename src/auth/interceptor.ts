// Authentication and scope checks for every RPC, before any handler runs. Account checks need
// the request's content and live in the handlers (authorize.ts).
import { Code, type Interceptor } from "@connectrpc/connect";
import type { Logger } from "../log.js";
import { apiError } from "../handlers/errors.js";
import { findKey, type ApiKey } from "./keys.js";
import { ANONYMOUS, PRINCIPAL, type Principal } from "./principal.js";
import { methodRule } from "./scopes.js";

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

/** `keys()` is read per request so a reloaded config applies at once. */
export function authInterceptor(keys: () => readonly ApiKey[], log: Logger): Interceptor {
  return (next) => async (req) => {
    const service = req.service.typeName;
    const method = req.method.name;
    const rule = methodRule(service, method);
    if (rule.open) return next(req);
    const refuse = (code: Code, reason: string, message: string, metadata: Record<string, string> = {}) => {
      log.warn({ service, method, reason, ...metadata }, "request refused");
      return apiError(code, reason, message, metadata);
    };
    if (!rule.scope) throw refuse(Code.PermissionDenied, "SCOPE_NOT_ALLOWED", "this method is not open to any key", { method });

    let principal: Principal = ANONYMOUS;
    const configured = keys();
    if (configured.length > 0) {
      const header = req.header.get("authorization");
      if (!header) throw refuse(Code.Unauthenticated, "API_KEY_MISSING", "send an API key as 'authorization: Bearer <key>'");
      const presented = BEARER.exec(header)?.[1];
      const key = presented === undefined ? undefined : findKey(configured, presented);
      if (!key) throw refuse(Code.Unauthenticated, "API_KEY_INVALID", "the API key is not valid");
      principal = { keyId: key.id, accounts: key.accounts, scopes: key.scopes };
    }
    if (!principal.scopes.has(rule.scope)) {
      throw refuse(Code.PermissionDenied, "SCOPE_NOT_ALLOWED", `the API key lacks the scope ${rule.scope}`,
        { scope: rule.scope, key_id: principal.keyId });
    }
    req.contextValues.set(PRINCIPAL, principal);
    return next(req);
  };
}
