// Which From addresses an account may send as: its own (the address of its `from`), and what its
// `allowed_from` lists — exact addresses, or "*@domain" for every address at exactly that domain.
// Addresses compare ignoring case, domains in the ASCII (punycode) form parseMailbox gives them.
// The envelope sender (MAIL FROM) is always the account's own address, whatever the From header.
import { AddressError, parseMailbox } from "./address.js";

/** An allowed_from entry, normalised: "user@domain" or "*@domain", lower-case. Throws AddressError. */
export function allowedFromEntry(entry: string): string {
  if (entry.startsWith("*@")) {
    // The domain is checked as an address's domain would be.
    return `*@${parseMailbox(`x${entry.slice(1)}`)
      .address.slice(2)
      .toLowerCase()}`;
  }
  const mailbox = parseMailbox(entry);
  if (mailbox.name !== "") throw new AddressError("ADDRESS_INVALID", "an allowed_from entry is an address, without a display name");
  return mailbox.address.toLowerCase();
}

/** The address of an account's `from` (its envelope sender); undefined if it is not one mailbox. */
export function ownAddress(from: string): string | undefined {
  try {
    return parseMailbox(from).address;
  } catch {
    return undefined;
  }
}

/** Whether an account with this `from` and `allowed_from` may put `address` in its From header. */
export function mayUseFrom(account: { from: string; allowedFrom?: readonly string[] }, address: string): boolean {
  const wanted = address.toLowerCase();
  if (ownAddress(account.from)?.toLowerCase() === wanted) return true;
  const domain = wanted.slice(wanted.lastIndexOf("@") + 1);
  return (account.allowedFrom ?? []).some((entry) => entry === wanted || entry === `*@${domain}`);
}
