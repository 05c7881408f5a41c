// A test that needs a Debian package fails, with the reason, when it is missing: `npm test`
// installs them first (scripts/provision.mjs), so a missing one is a broken set-up, never a skip.
export function requirePackage(present: boolean, what: string, pkg: string): void {
  if (!present) throw new Error(`${what} is missing: npm test installs it as root (scripts/provision.mjs); else apt-get install ${pkg}`);
}
