// A lean SMTP sink for benchmarks: accepts everything and records, per message, when it was
// accepted and the X-Outbox-Id header it carried. It reads only the header block and discards
// the rest, so the sink's own CPU stays small next to the senders it measures.
import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";
import { nowMs } from "./mail.js";

const HEADER_END = "\r\n\r\n";
/** Header blocks longer than this are not scanned further (the id header comes early). */
const MAX_HEADER_BYTES = 64 * 1024;
const ID_HEADER = /^X-Outbox-Id:[ \t]*(\S+)/im;

export class BenchSink {
  /** Accept time (nowMs()) by X-Outbox-Id, since the last reset. */
  readonly acceptedAt = new Map<string, number>();
  private waiters = new Set<{ missing: Set<string>; resolve: () => void }>();
  private server: SMTPServer;
  port = 0;

  constructor() {
    this.server = new SMTPServer({
      name: "bench-sink",
      logger: false,
      disabledCommands: ["STARTTLS", "AUTH"],
      authOptional: true,
      disableReverseLookup: true,
      closeTimeout: 1_000,
      onData: (stream, _session, callback) => {
        let head = "";
        let id: string | undefined;
        let scanning = true;
        stream.on("data", (chunk: Buffer) => {
          if (!scanning) return;
          head += chunk.toString("latin1");
          const end = head.indexOf(HEADER_END);
          if (end >= 0 || head.length > MAX_HEADER_BYTES) {
            id = ID_HEADER.exec(end >= 0 ? head.slice(0, end) : head)?.[1];
            scanning = false;
            head = "";
          }
        });
        stream.on("end", () => {
          if (scanning) id = ID_HEADER.exec(head)?.[1];
          this.record(id ?? `anonymous-${this.acceptedAt.size}`);
          callback(null, "queued");
        });
      },
    });
    // Without a handler, a client dropping its connection would crash the benchmark.
    this.server.on("error", () => undefined);
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.port = (this.server.server.address() as AddressInfo).port;
  }

  get count(): number {
    return this.acceptedAt.size;
  }

  reset(): void {
    this.acceptedAt.clear();
  }

  /** Resolves once every one of `ids` was accepted (since the last reset); rejects after timeoutMs. */
  waitFor(ids: Iterable<string>, timeoutMs: number): Promise<void> {
    const missing = new Set([...ids].filter((id) => !this.acceptedAt.has(id)));
    if (missing.size === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`sink: ${missing.size} messages still not accepted after ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = { missing, resolve: () => (clearTimeout(timer), resolve()) };
      this.waiters.add(waiter);
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private record(id: string): void {
    this.acceptedAt.set(id, nowMs());
    for (const w of this.waiters) {
      if (!w.missing.delete(id) || w.missing.size > 0) continue;
      this.waiters.delete(w);
      w.resolve();
    }
  }
}
