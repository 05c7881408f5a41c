// A cap on open WatchOutbox streams, per API key and in total on this instance: each open stream
// holds a subscription and its buffer, so a client opening streams it never reads could otherwise
// grow memory without bound. Past a cap the new stream gets RESOURCE_EXHAUSTED at once.
import { Code, type Interceptor } from "@connectrpc/connect";
import { apiError } from "./handlers/errors.js";
import { ANONYMOUS, PRINCIPAL } from "./auth/principal.js";

export interface StreamCaps {
  maxStreams: number;
  maxStreamsPerKey: number;
}

const WATCH = "email.v1.EmailService/WatchOutbox";

/**
 * The open streams, per key and in total. `caps()` is read per stream; the anonymous caller (no
 * keys configured) has only the total.
 */
export class WatchStreamSlots {
  private total = 0;
  private readonly byKey = new Map<string, number>();

  constructor(private readonly caps: () => StreamCaps) {}

  /** A slot for a new stream of this key, or RESOURCE_EXHAUSTED; returns its release (idempotent). */
  take(keyId: string): () => void {
    const perKey = keyId === ANONYMOUS.keyId ? Infinity : this.caps().maxStreamsPerKey;
    const mine = this.byKey.get(keyId) ?? 0;
    if (this.total >= this.caps().maxStreams || mine >= perKey) {
      const which = mine >= perKey ? "this API key" : "this server";
      throw apiError(Code.ResourceExhausted, "WATCH_STREAMS_EXHAUSTED", `too many open WatchOutbox streams for ${which}; close one first`,
        { limit: String(mine >= perKey ? perKey : this.caps().maxStreams) });
    }
    this.total++;
    this.byKey.set(keyId, mine + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total--;
      const left = (this.byKey.get(keyId) ?? 1) - 1;
      if (left > 0) this.byKey.set(keyId, left);
      else this.byKey.delete(keyId);
    };
  }
}

/** WatchOutbox through the router takes its slot here. */
export function watchStreamLimits(slots: WatchStreamSlots): Interceptor {
  return (next) => async (req) => {
    if (`${req.service.typeName}/${req.method.name}` !== WATCH) return next(req);
    const release = slots.take((req.contextValues.get(PRINCIPAL) ?? ANONYMOUS).keyId);
    // The call's signal aborts when the call ends in any way: finished, failed, cancelled.
    req.signal.addEventListener("abort", release, { once: true });
    try {
      return await next(req);
    } catch (err) {
      release();
      throw err;
    }
  };
}
