// Who is calling: set per request by the auth interceptor, read by the handlers.
import { createContextKey } from "@connectrpc/connect";
import { SCOPES, type Scope } from "./scopes.js";

export interface Principal {
  keyId: string;
  accounts: ReadonlySet<number> | "all";
  scopes: ReadonlySet<Scope>;
}

/** The caller when no keys are configured (loopback only, or allow_unauthenticated). */
export const ANONYMOUS: Principal = Object.freeze({ keyId: "anonymous", accounts: "all", scopes: new Set(SCOPES) });

/** Unset means the request never passed the interceptor: handlers then refuse it. */
export const PRINCIPAL = createContextKey<Principal | undefined>(undefined, { description: "the authenticated caller" });
