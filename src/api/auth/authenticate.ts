// Who is calling, from the request's headers alone: the key and its scope for the method. It
// needs no body, so the request gate runs it before a byte of the body is read; the interceptor
// runs it for handlers mounted without the gate. Account checks need the request's content and
// live in the handlers (authorize.ts).
import { Code, type ConnectError } from "@connectrpc/connect";
import type { Logger } from "../../lib/log.js";
import { apiError } from "../handlers/errors.js";
import { findKey, type ApiKey } from "./keys.js";
import { ANONYMOUS, type Principal } from "./principal.js";
import { methodRule } from "./scopes.js";

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

/** The configured key an `authorization: Bearer <key>` header presents, if any. */
export function presentedKey(keys: readonly ApiKey[], authorization: string | null | undefined): ApiKey | undefined {
  const presented = BEARER.exec(authorization ?? "")?.[1];
  return presented === undefined ? undefined : findKey(keys, presented);
}

/**
 * The caller of `service/method`, or undefined for an open method (health, reflection); throws
 * UNAUTHENTICATED or PERMISSION_DENIED, logged at warn.
 */
export function authenticate(
  log: Logger,
  keys: readonly ApiKey[],
  service: string,
  method: string,
  authorization: string | null | undefined,
): Principal | undefined {
  const rule = methodRule(service, method);
  if (rule.open) return undefined;
  const refuse = (code: Code, reason: string, message: string, metadata: Record<string, string> = {}): ConnectError => {
    log.warn({ service, method, reason, ...metadata }, "request refused");
    return apiError(code, reason, message, metadata);
  };
  if (!rule.scope) throw refuse(Code.PermissionDenied, "SCOPE_NOT_ALLOWED", "this method is not open to any key", { method });

  let principal: Principal = ANONYMOUS;
  if (keys.length > 0) {
    if (!authorization) throw refuse(Code.Unauthenticated, "API_KEY_MISSING", "send an API key as 'authorization: Bearer <key>'");
    const key = presentedKey(keys, authorization);
    if (!key) throw refuse(Code.Unauthenticated, "API_KEY_INVALID", "the API key is not valid");
    principal = { keyId: key.id, accounts: key.accounts, scopes: key.scopes };
  }
  if (!principal.scopes.has(rule.scope)) {
    throw refuse(Code.PermissionDenied, "SCOPE_NOT_ALLOWED", `the API key lacks the scope ${rule.scope}`, {
      scope: rule.scope,
      key_id: principal.keyId,
    });
  }
  return principal;
}
