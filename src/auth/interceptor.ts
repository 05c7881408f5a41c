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
    const principal = authenticate(keys(), req.header, req.service.typeName, req.method.name, log);
    if (principal) req.contextValues.set(PRINCIPAL, principal);
    return next(req);
  };
}

/**
 * Who is calling, from the request's headers alone: undefined for an open service, a principal
 * with the method's scope, or a thrown UNAUTHENTICATED / PERMISSION_DENIED.
 */
export function authenticate(configured: readonly ApiKey[], header: Headers, service: string, method: string, log: Logger): Principal | undefined {
  const rule = methodRule(service, method);
  if (rule.open) return undefined;
  const refuse = (code: Code, reason: string, message: string, metadata: Record<string, string> = {}) => {
    log.warn({ service, method, reason, ...metadata }, "request refused");
    return apiError(code, reason, message, metadata);
  };
  if (!rule.scope) throw refuse(Code.PermissionDenied, "SCOPE_NOT_ALLOWED", "this method is not open to any key", { method });

  let principal: Principal = ANONYMOUS;
  if (configured.length > 0) {
    const value = header.get("authorization");
    if (!value) throw refuse(Code.Unauthenticated, "API_KEY_MISSING", "send an API key as 'authorization: Bearer <key>'");
    const presented = BEARER.exec(value)?.[1];
    const key = presented === undefined ? undefined : findKey(configured, presented);
    if (!key) throw refuse(Code.Unauthenticated, "API_KEY_INVALID", "the API key is not valid");
    principal = { keyId: key.id, accounts: key.accounts, scopes: key.scopes };
  }
  if (!principal.scopes.has(rule.scope)) {
    throw refuse(Code.PermissionDenied, "SCOPE_NOT_ALLOWED", `the API key lacks the scope ${rule.scope}`,
      { scope: rule.scope, key_id: principal.keyId });
  }
  return principal;
}
