// A cap on open WatchOutbox streams, per API key and in total on this instance: each open stream
// holds a subscription and its buffer, so a client opening streams it never reads could otherwise
// grow memory without bound. Past a cap the new stream gets RESOURCE_EXHAUSTED at once.
import { Code, type Interceptor } from "@connectrpc/connect";
import { apiError } from "../handlers/errors.js";
import { ANONYMOUS, PRINCIPAL } from "../auth/principal.js";

export interface StreamCaps {
  maxStreams: number;
  maxStreamsPerKey: number;
}

const WATCH = "email.v1.EmailService/WatchOutbox";

/** `caps()` is read per stream; the anonymous caller (no keys configured) has only the total. */
export function watchStreamLimits(caps: () => StreamCaps): Interceptor {
  let total = 0;
  const byKey = new Map<string, number>();
  return (next) => async (req) => {
    if (`${req.service.typeName}/${req.method.name}` !== WATCH) return next(req);
    const keyId = (req.contextValues.get(PRINCIPAL) ?? ANONYMOUS).keyId;
    const perKey = keyId === ANONYMOUS.keyId ? Infinity : caps().maxStreamsPerKey;
    const mine = byKey.get(keyId) ?? 0;
    if (total >= caps().maxStreams || mine >= perKey) {
      const which = mine >= perKey ? "this API key" : "this server";
      throw apiError(Code.ResourceExhausted, "WATCH_STREAMS_EXHAUSTED", `too many open WatchOutbox streams for ${which}; close one first`,
        { limit: String(mine >= perKey ? perKey : caps().maxStreams) });
    }
    total++;
    byKey.set(keyId, mine + 1);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      total--;
      const left = (byKey.get(keyId) ?? 1) - 1;
      if (left > 0) byKey.set(keyId, left);
      else byKey.delete(keyId);
    };
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
