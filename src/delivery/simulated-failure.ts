// failure_mode: an attempt that fails the way the client asked, reaching no server (allowed only
// by allow_failure_mode), so clients can exercise their failure paths. It runs as a transport of
// its own in place of the account's, and its outcome is classified already.
import { FailureMode, type AttemptOutcome } from "../outbox/types.js";
import type { AccountTransport } from "./transports.js";

type Failed = Extract<AttemptOutcome, { kind: "failed" }>;

/** What a simulated send fails with: its outcome. */
export class SimulatedFailure extends Error {
  override name = "SimulatedFailure";

  constructor(readonly outcome: Failed) {
    super(outcome.error);
  }
}

class SimulatedFailureTransport implements AccountTransport {
  /** It holds no connection: as many at once as the account's lane starts. */
  readonly concurrency = Infinity;

  constructor(private readonly outcome: Failed) {}

  send(): Promise<string> {
    return Promise.reject(new SimulatedFailure(this.outcome));
  }

  close(): void {}
}

const TRANSPORTS = new Map<FailureMode, AccountTransport>([
  [
    FailureMode.network,
    new SimulatedFailureTransport({ kind: "failed", error: "simulated network timeout", errorClass: "NETWORK", permanent: false }),
  ],
  [
    FailureMode.provider,
    new SimulatedFailureTransport({ kind: "failed", error: "simulated provider rejection", errorClass: "SMTP_PERMANENT", permanent: true }),
  ],
]);

/** The transport of an attempt that asked to fail, when the config allows it; undefined otherwise. */
export function simulatedFailure(mode: FailureMode, allowed: boolean): AccountTransport | undefined {
  return allowed ? TRANSPORTS.get(mode) : undefined;
}
