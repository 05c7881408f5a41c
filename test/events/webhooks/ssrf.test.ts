// The SSRF rule: a public name whose DNS answer is internal is refused; loopback only when the
// URL itself names loopback; the checked address is the one returned (and connected to).
import { expect, test } from "vitest";
import { resolveTarget, TargetRefused, type Resolve } from "../../../src/events/webhooks/ssrf.js";

const answering =
  (address: string): Resolve =>
  async () => [{ address, family: address.includes(":") ? 6 : 4 }];

test.each([
  "127.0.0.1",
  "10.1.2.3",
  "172.16.0.1",
  "192.168.1.1",
  "169.254.169.254",
  "100.64.0.1",
  "0.0.0.0",
  "::1",
  "fd00:ec2::254",
  "fe80::1",
  "::ffff:10.0.0.1",
])("a public name resolving to %s is refused", async (address) => {
  await expect(resolveTarget(new URL("https://hooks.example.com/"), answering(address))).rejects.toBeInstanceOf(TargetRefused);
});

test("literal internal addresses are refused too, loopback ones only when named as loopback", async () => {
  await expect(resolveTarget(new URL("https://169.254.169.254/latest/meta-data"))).rejects.toThrow("an internal address");
  await expect(resolveTarget(new URL("https://[::ffff:7f00:1]/"))).rejects.toBeInstanceOf(TargetRefused);
  expect(await resolveTarget(new URL("http://127.0.0.1:8/"))).toEqual({ address: "127.0.0.1", family: 4 });
  expect(await resolveTarget(new URL("http://[::1]:8/"))).toEqual({ address: "::1", family: 6 });
  await expect(resolveTarget(new URL("http://localhost/"), answering("10.0.0.1"))).rejects.toThrow("not loopback");
});

test("a public answer is the address used", async () => {
  expect(await resolveTarget(new URL("https://hooks.example.com/"), answering("93.184.216.34"))).toEqual({
    address: "93.184.216.34",
    family: 4,
  });
});
