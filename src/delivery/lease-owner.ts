// Who holds a lease: "host:pid:random", cut to fit outbox.lease_owner (VARCHAR(64)). Host names in
// containers run long (Kubernetes pod names), and a value that does not fit would make every claim
// fail under strict SQL mode; the pid and random part, which make it unique, are always kept whole.
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";

export const LEASE_OWNER_MAX = 64;

export function leaseOwner(host: string = hostname(), pid: number = process.pid): string {
  const tail = `:${pid}:${randomUUID().slice(0, 8)}`;
  return `${host.slice(0, LEASE_OWNER_MAX - tail.length)}${tail}`;
}
