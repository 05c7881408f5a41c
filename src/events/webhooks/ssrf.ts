// Where a webhook request may go. The host is resolved once and the request connects to that
// checked address, so a DNS answer cannot point a public name at 127.0.0.1, a private network
// or the cloud metadata address (169.254.169.254) between the check and the connect.
import { lookup as dnsLookup } from "node:dns/promises";
import { BlockList, isIP } from "node:net";
import { isLoopbackName } from "../../config/webhooks.js";

export interface Target {
  address: string;
  family: 4 | 6;
}

/** Resolves a host name to its addresses (dns.lookup by default; tests pass their own). */
export type Resolve = (hostname: string) => Promise<{ address: string; family: number }[]>;

export const systemResolve: Resolve = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

/** The request would go somewhere the config did not allow. Permanent for the delivery's attempt. */
export class TargetRefused extends Error {
  override name = "TargetRefused";
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet("127.0.0.0", 8, "ipv4");
LOOPBACK.addAddress("::1", "ipv6");

/** Not reachable from the internet, or special: never a webhook target unless named as loopback. */
const INTERNAL = new BlockList();
for (const [net, bits] of [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["224.0.0.0", 4],
  ["240.0.0.0", 4],
] as const)
  INTERNAL.addSubnet(net, bits, "ipv4");
for (const [net, bits] of [
  ["::", 128],
  ["::1", 128],
  ["fc00::", 7],
  ["fe80::", 10],
  ["ff00::", 8],
  ["64:ff9b::", 96],
  ["2001:db8::", 32],
] as const)
  INTERNAL.addSubnet(net, bits, "ipv6");

export async function resolveTarget(url: URL, resolve: Resolve = systemResolve): Promise<Target> {
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  const literal = isIP(host);
  let answers: { address: string; family: number }[];
  if (literal) answers = [{ address: host, family: literal }];
  else {
    try {
      answers = await resolve(host);
    } catch (err) {
      throw new Error(`cannot resolve ${host}: ${(err as NodeJS.ErrnoException).code ?? "error"}`);
    }
  }
  const first = answers[0];
  if (!first) throw new Error(`cannot resolve ${host}: no address`);
  const target: Target = { address: unmapped(first.address), family: isIP(unmapped(first.address)) === 6 ? 6 : 4 };
  const type = target.family === 6 ? "ipv6" : "ipv4";
  if (isLoopbackName(url.hostname)) {
    if (!LOOPBACK.check(target.address, type)) throw new TargetRefused(`${host} resolved to ${target.address}, which is not loopback`);
  } else if (INTERNAL.check(target.address, type)) {
    throw new TargetRefused(`${host} resolved to ${target.address}, an internal address`);
  }
  return target;
}

/** ::ffff:10.0.0.1 is 10.0.0.1: checked (and connected to) as IPv4. */
function unmapped(address: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return m ? m[1]! : address;
}
