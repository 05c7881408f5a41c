// A cap on open WatchOutbox streams, per API key and in total on this instance: each open stream
// holds a subscription and its buffer, so a client opening streams it never reads could otherwise
// grow memory without bound. Past a cap the new stream gets RESOURCE_EXHAUSTED at once.
//
// A stream can end in many ways (client cancel, RST_STREAM, connection closed or gone away,
// deadline, server stop, a write that fails, cut off for falling behind) and its content may be
// suspended at a `yield` when it happens, waiting for a client that does not read. So nothing is
// left to the content's own `finally`: every way of ending aborts the slot's signal, and the slot,
// the subscription and the transport's wait all end on that one abort, once.
import { Code, createContextKey, type Interceptor } from "@connectrpc/connect";
import { apiError } from "./handlers/errors.js";
import { ANONYMOUS, PRINCIPAL } from "./auth/principal.js";

export interface StreamCaps {
  maxStreams: number;
  maxStreamsPerKey: number;
}

const WATCH = "email.v1.EmailService/WatchOutbox";

/** One open stream's hold on its slot, shared by its transport and its content. */
export class StreamSlot {
  private readonly ended = new AbortController();

  /** Items the transport accepted that its client has not taken yet; set by a transport that can tell. */
  unsent: () => number = () => 0;

  /** Aborts once, when the call's signal aborts or end() is called; the slot is released then. */
  constructor(call: AbortSignal, release: () => void = () => undefined) {
    this.ended.signal.addEventListener("abort", release, { once: true });
    if (call.aborted) this.end(call.reason);
    else call.addEventListener("abort", () => this.end(call.reason), { once: true });
  }

  /** Aborted when the stream ends, however it ends; its reason says why. */
  get signal(): AbortSignal {
    return this.ended.signal;
  }

  /** Ends the stream (a second call changes nothing). */
  end(reason?: unknown): void {
    this.ended.abort(reason);
  }
}

/** The stream's slot, for its content (set by the transport that took it). */
export const STREAM_SLOT = createContextKey<StreamSlot | undefined>(undefined, { description: "the WatchOutbox stream's slot" });

/**
 * The open streams, per key and in total. `caps()` is read per stream; the anonymous caller (no
 * keys configured) has only the total.
 */
export class WatchStreamSlots {
  private total = 0;
  private readonly byKey = new Map<string, number>();

  constructor(private readonly caps: () => StreamCaps) {}

  /** A slot for a new stream of this key, ended with `call`; or RESOURCE_EXHAUSTED. */
  take(keyId: string, call: AbortSignal): StreamSlot {
    const perKey = keyId === ANONYMOUS.keyId ? Infinity : this.caps().maxStreamsPerKey;
    const mine = this.byKey.get(keyId) ?? 0;
    if (this.total >= this.caps().maxStreams || mine >= perKey) {
      const which = mine >= perKey ? "this API key" : "this server";
      throw apiError(Code.ResourceExhausted, "WATCH_STREAMS_EXHAUSTED", `too many open WatchOutbox streams for ${which}; close one first`, {
        limit: String(mine >= perKey ? perKey : this.caps().maxStreams),
      });
    }
    this.total++;
    this.byKey.set(keyId, mine + 1);
    return new StreamSlot(call, () => {
      this.total--;
      const left = (this.byKey.get(keyId) ?? 1) - 1;
      if (left > 0) this.byKey.set(keyId, left);
      else this.byKey.delete(keyId);
    });
  }

  /** Open streams of one key, or of every key. */
  open(keyId?: string): number {
    return keyId === undefined ? this.total : (this.byKey.get(keyId) ?? 0);
  }
}

/** WatchOutbox through the router takes its slot here. */
export function watchStreamLimits(slots: WatchStreamSlots): Interceptor {
  return (next) => async (req) => {
    if (`${req.service.typeName}/${req.method.name}` !== WATCH) return next(req);
    // The call's signal aborts when the call ends in any way: finished, failed, cancelled.
    const slot = slots.take((req.contextValues.get(PRINCIPAL) ?? ANONYMOUS).keyId, req.signal);
    req.contextValues.set(STREAM_SLOT, slot);
    try {
      return await next(req);
    } catch (err) {
      slot.end(err);
      throw err;
    }
  };
}
