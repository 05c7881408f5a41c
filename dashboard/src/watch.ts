// Keeps one WatchOutbox stream open: the current state first (include_current), then every
// change live. Reconnects with backoff; stops on refusals a retry cannot fix (a missing key).
import { Code, ConnectError } from "@connectrpc/connect";
import type { OutboxEvent } from "../../gen/email/v1/email_service_pb.js";
import { errorReason } from "../../src/client/errors.js";
import type { Api } from "./api.js";

export type WatchState =
  | { kind: "connecting" }
  /** snapshot false: too many rows for include_current, so only changes from now on stream. */
  | { kind: "live"; snapshot: boolean }
  | { kind: "retrying"; inMs: number; message: string }
  | { kind: "refused"; message: string };

export interface WatchHandlers {
  /**
   * A stream is established and its events follow: after a reconnect (`first` false), forget
   * what the previous stream said.
   */
  start(snapshot: boolean, first: boolean): void;
  event(e: OutboxEvent): void;
  state(s: WatchState): void;
}

const BACKOFF_MS = [500, 1000, 2000, 5000, 10_000];
const FATAL = new Set([Code.Unauthenticated, Code.PermissionDenied, Code.InvalidArgument]);

/** What a stream shows: one account (0: every account the key may see), rows with these tags. */
export interface WatchFilter {
  accountId: number;
  tags: Record<string, string>;
}

/** Starts watching the rows `filter` selects; returns a stop function. */
export function watchOutbox(api: Api, filter: WatchFilter, on: WatchHandlers): () => void {
  const ctl = new AbortController();
  const { signal } = ctl;
  void (async () => {
    let snapshot = true;
    let first = true;
    for (let failures = 0; !signal.aborted; ) {
      on.state({ kind: "connecting" });
      let message = "the stream ended";
      let started = false;
      // Response headers or, whichever comes first, the first message (the server may hold its
      // headers until it has something to send).
      const established = () => {
        if (started) return;
        started = true;
        failures = 0;
        on.start(snapshot, first);
        first = false;
        on.state({ kind: "live", snapshot });
      };
      try {
        const stream = api.watchOutbox({ ...filter, includeCurrent: snapshot }, { signal, onHeader: established });
        for await (const res of stream) {
          established();
          if (res.message.case === "event") on.event(res.message.value);
        }
      } catch (err) {
        if (signal.aborted) return;
        const e = ConnectError.from(err);
        // More rows than one snapshot may hold: follow the live tail alone.
        if (snapshot && errorReason(e) === "WATCH_SNAPSHOT_TOO_LARGE") {
          snapshot = false;
          continue;
        }
        if (FATAL.has(e.code)) return on.state({ kind: "refused", message: e.rawMessage });
        message = e.rawMessage;
      }
      const inMs = BACKOFF_MS[Math.min(failures++, BACKOFF_MS.length - 1)]!;
      on.state({ kind: "retrying", inMs, message });
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, inMs);
        signal.addEventListener("abort", () => (clearTimeout(timer), resolve(undefined)), { once: true });
      });
    }
  })();
  return () => ctl.abort();
}
