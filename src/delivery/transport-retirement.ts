// A transport a reload replaced (or whose account it removed) takes no new attempts, but the
// attempts under way on it finish there: it closes once the last of them has ended.
import type { AccountTransport } from "./transports.js";

export class TransportRetirement {
  /** Attempts under way, per transport. */
  private readonly attempts = new Map<AccountTransport, number>();
  private readonly retired = new Set<AccountTransport>();

  /** An attempt starts on the transport. */
  begin(transport: AccountTransport): void {
    this.attempts.set(transport, (this.attempts.get(transport) ?? 0) + 1);
  }

  /** The attempt ended: a retired transport with none left under way closes. */
  end(transport: AccountTransport): void {
    const n = this.attempts.get(transport)! - 1;
    if (n > 0) return void this.attempts.set(transport, n);
    this.attempts.delete(transport);
    if (this.retired.delete(transport)) transport.close();
  }

  /** Closes the transport now, or once the attempts under way on it have ended. */
  retire(transport: AccountTransport): void {
    if (this.attempts.has(transport)) this.retired.add(transport);
    else transport.close();
  }

  /** Closes the retired transports still in use (on stop, once attempts were waited for). */
  closeAll(): void {
    for (const transport of this.retired) transport.close();
    this.retired.clear();
  }
}
