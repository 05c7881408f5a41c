// Authentication and scope checks for every RPC, before any handler runs. Behind the request
// gate (src/api/rpc-gate.ts) the caller is already known; without it, this checks the headers.
import type { Interceptor } from "@connectrpc/connect";
import type { Logger } from "../../lib/log.js";
import { authenticate } from "./authenticate.js";
import type { ApiKey } from "./keys.js";
import { PRINCIPAL } from "./principal.js";

/** `keys()` is read per request so a reloaded config applies at once. */
export function authInterceptor(keys: () => readonly ApiKey[], log: Logger): Interceptor {
  return (next) => async (req) => {
    if (req.contextValues.get(PRINCIPAL)) return next(req);
    const principal = authenticate(log, keys(), req.service.typeName, req.method.name, req.header.get("authorization"));
    if (principal) req.contextValues.set(PRINCIPAL, principal);
    return next(req);
  };
}
