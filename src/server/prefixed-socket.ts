// A Duplex over a socket that first replays bytes already read from it. Node 20's http2 reads
// from the native handle, so bytes read while sniffing cannot simply be unshifted back.
import { Duplex } from "node:stream";
import type net from "node:net";

export class PrefixedSocket extends Duplex {
  constructor(private readonly socket: net.Socket, head: Buffer) {
    super({ allowHalfOpen: false });
    if (head.length > 0) this.push(head);
    socket.on("data", (chunk: Buffer) => {
      if (!this.push(chunk)) socket.pause();
    });
    socket.on("end", () => this.push(null));
    socket.on("error", (err) => this.destroy(err));
    socket.on("close", () => this.destroy());
    socket.on("timeout", () => this.emit("timeout"));
  }

  override _read(): void {
    this.socket.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.socket.write(chunk, cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.socket.end(cb);
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.socket.destroy(err ?? undefined);
    cb(err);
  }

  // What the HTTP servers ask of a socket.
  get remoteAddress() { return this.socket.remoteAddress; }
  get remotePort() { return this.socket.remotePort; }
  get remoteFamily() { return this.socket.remoteFamily; }
  get localAddress() { return this.socket.localAddress; }
  get localPort() { return this.socket.localPort; }
  get encrypted() { return false; }
  // Called on every request of a keep-alive connection: the callback goes on this stream (as
  // net.Socket does), so listeners do not pile up on the socket.
  setTimeout(ms: number, cb?: () => void): this {
    this.socket.setTimeout(ms);
    if (cb) {
      if (ms > 0) this.once("timeout", cb);
      else this.off("timeout", cb);
    }
    return this;
  }
  setNoDelay(noDelay?: boolean): this {
    this.socket.setNoDelay(noDelay);
    return this;
  }
  setKeepAlive(enable?: boolean, delay?: number): this {
    this.socket.setKeepAlive(enable, delay);
    return this;
  }
}
