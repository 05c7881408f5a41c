// Account checks inside handlers: the interceptor has put the caller in the context.
import { Code, type HandlerContext } from "@connectrpc/connect";
import { apiError } from "../handlers/errors.js";
import { PRINCIPAL, type Principal } from "./principal.js";

function principal(ctx: HandlerContext): Principal {
  const p = ctx.values.get(PRINCIPAL);
  // Only a handler mounted without the interceptor gets here: refuse rather than serve.
  if (!p) throw apiError(Code.Unauthenticated, "API_KEY_MISSING", "send an API key as 'authorization: Bearer <key>'");
  return p;
}

export function mayAccess(ctx: HandlerContext, accountId: number): boolean {
  const { accounts } = principal(ctx);
  return accounts === "all" || accounts.has(accountId);
}

/** For an RPC that names its account: PERMISSION_DENIED unless the key covers it. */
export function authorize(ctx: HandlerContext, accountId: number): void {
  if (!mayAccess(ctx, accountId)) {
    throw apiError(Code.PermissionDenied, "ACCOUNT_NOT_ALLOWED", "the API key does not cover this account", {
      account_id: String(accountId),
    });
  }
}

/**
 * The accounts a List or Watch may see: the one it names (checked), or, when it names none
 * (0), every account of the key; undefined means all accounts.
 */
export function accountFilter(ctx: HandlerContext, accountId: number): number[] | undefined {
  if (accountId) {
    authorize(ctx, accountId);
    return [accountId];
  }
  const { accounts } = principal(ctx);
  return accounts === "all" ? undefined : [...accounts];
}
