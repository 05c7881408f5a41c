// API keys for tests: a real key and the config entry that accepts it, and clients that send it.
import { createClient, type Client, type Interceptor, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import type { DescService } from "@bufbuild/protobuf";
import { generateKey, hashKey } from "../../src/api/auth/keys.js";
import { SCOPES, type Scope } from "../../src/api/auth/scopes.js";

export interface TestKey {
  key: string;
  entry: { id: string; sha256: string; accounts: number[] | "*"; scopes: Scope[] };
}

export function testKey(id: string, accounts: number[] | "*", scopes: readonly Scope[] = SCOPES): TestKey {
  const key = generateKey();
  return { key, entry: { id, sha256: hashKey(key), accounts, scopes: [...scopes] } };
}

/** Sends `authorization` exactly as given (undefined: no header). */
export function withAuthorization(value: string | undefined): Interceptor {
  return (next) => (req) => {
    if (value !== undefined) req.header.set("authorization", value);
    return next(req);
  };
}

export const PROTOCOLS = {
  gRPC: (baseUrl: string, interceptors: Interceptor[]) => createGrpcTransport({ baseUrl, interceptors }),
  "Connect JSON": (baseUrl: string, interceptors: Interceptor[]) => createConnectTransport({ baseUrl, httpVersion: "1.1", interceptors }),
} satisfies Record<string, (baseUrl: string, interceptors: Interceptor[]) => Transport>;

export type Protocol = keyof typeof PROTOCOLS;

/** A client of `service` that sends `Bearer <key>` (or nothing when key is undefined). */
export function keyedClient<S extends DescService>(
  service: S,
  baseUrl: string,
  key: string | undefined,
  protocol: Protocol = "gRPC",
): Client<S> {
  return createClient(service, PROTOCOLS[protocol](baseUrl, [withAuthorization(key === undefined ? undefined : `Bearer ${key}`)]));
}
