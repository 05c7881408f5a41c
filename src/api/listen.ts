// One port for every protocol. Cleartext: each connection's first bytes decide — the HTTP/2
// preface goes to the h2c server (gRPC, and Connect/gRPC-Web over HTTP/2), anything else to the
// HTTP/1.1 server (Connect, gRPC-Web, plain HTTP). With TLS, ALPN makes the same choice.
import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import type { TLSSocket } from "node:tls";
import { readFileSync } from "node:fs";

import type { ConnectNodeAdapterOptions } from "@connectrpc/connect-node";

/** What connectNodeAdapter returns: a handler for http and http2 requests alike. */
export type RequestHandler = NonNullable<ConnectNodeAdapterOptions["fallback"]>;

export interface TlsFiles {
  certFile: string;
  keyFile: string;
}

/** What a connection may cost before it is closed (config `server`). */
export interface ConnectionLimits {
  /**
   * From accept to the HTTP/2 preface, a complete HTTP/1.1 request head, or the TLS handshake;
   * then again from there to the first HTTP/2 stream.
   */
  firstBytesTimeoutMs: number;
  /** No traffic for this long on an HTTP/2 session or an HTTP/1.1 connection: closed. */
  idleTimeoutMs: number;
  maxConcurrentStreams: number;
}

export interface Listener {
  port: number;
  /** Stops accepting, then ends open connections (after `graceMs`, forcibly). */
  close(graceMs?: number): Promise<void>;
}

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

export async function listen(
  handler: RequestHandler,
  host: string,
  port: number,
  limits: ConnectionLimits,
  tls?: TlsFiles,
): Promise<Listener> {
  const sockets = new Set<net.Socket>();
  // Until its first bytes have come (see ConnectionLimits), a connection lives on this timer.
  const firstBytes = new WeakMap<net.Socket, NodeJS.Timeout>();
  const track = (s: net.Socket) => {
    sockets.add(s);
    firstBytes.set(s, setTimeout(() => s.destroy(), limits.firstBytesTimeoutMs).unref());
    s.once("close", () => {
      sockets.delete(s);
      arrived(s);
    });
  };
  const arrived = (s: net.Socket) => clearTimeout(firstBytes.get(s));
  // HTTP/1.1 connections as their server sees them (it marks the one busy with a response).
  const h1Conns = new Set<net.Socket>();
  const trackH1 = (c: net.Socket) => {
    h1Conns.add(c);
    c.once("close", () => h1Conns.delete(c));
  };
  const h2Sessions = new Set<http2.ServerHttp2Session>();
  const trackSession = (s: http2.ServerHttp2Session) => {
    h2Sessions.add(s);
    // A session with no stream activity for this long is gone or was never meant to be used.
    s.setTimeout(limits.idleTimeoutMs, () => s.destroy());
    // It must open its first stream within firstBytesTimeoutMs, as an HTTP/1.1 connection must
    // send its first request head, whatever else it sends meanwhile (SETTINGS, PINGs, half a frame).
    const unused = setTimeout(() => s.destroy(), limits.firstBytesTimeoutMs).unref();
    s.once("stream", () => clearTimeout(unused));
    s.once("close", () => {
      h2Sessions.delete(s);
      clearTimeout(unused);
    });
  };
  const settings = { maxConcurrentStreams: limits.maxConcurrentStreams };

  let server: net.Server;
  let h1Server: http.Server | undefined;
  if (tls) {
    const secure = http2.createSecureServer(
      { cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile), allowHTTP1: true, settings },
      handler as (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void,
    );
    secure.on("session", trackSession);
    secure.on("connection", track);
    secure.on("secureConnection", (s: TLSSocket) => {
      arrived((s as TLSSocket & { _parent: net.Socket })._parent); // the TCP socket under it
      if (s.alpnProtocol !== "h2") trackH1(s);
    });
    secure.on("tlsClientError", (_err, s) => s.destroy());
    secure.setTimeout(limits.idleTimeoutMs);
    server = secure;
  } else {
    const h1 = http.createServer(
      {
        headersTimeout: limits.firstBytesTimeoutMs,
        requestTimeout: 0,
        connectionsCheckingInterval: Math.min(1_000, limits.firstBytesTimeoutMs),
      },
      handler as http.RequestListener,
    );
    h1.timeout = limits.idleTimeoutMs;
    // The HTTP/1.1 server gets its connections handed over and never listens itself; 'listening'
    // is what starts its checks of headersTimeout (a request head trickled in is cut off).
    h1.emit("listening");
    h1Server = h1;
    const h2 = http2.createServer({ settings }, handler as (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void);
    h2.on("session", trackSession);
    // The HTTP servers set TCP_NODELAY on sockets they accept themselves; these are handed to
    // them, so it is set here (without it, Nagle holds small responses ~40 ms for an ACK).
    server = net.createServer({ noDelay: true }, (socket) => {
      track(socket);
      sniff(socket, (isH2, head) => {
        // HTTP/2: the preface is in. HTTP/1.1: headersTimeout watches the request head from here.
        arrived(socket);
        // The sniffed bytes go back into the socket's buffer, where both servers read them
        // first; each then works on the native socket itself (no stream in between).
        socket.unshift(head);
        if (isH2) return void h2.emit("connection", socket);
        trackH1(socket);
        h1.emit("connection", socket);
        socket.resume();
      });
    });
  }

  await listenOn(server, host, port);
  return {
    port: (server.address() as net.AddressInfo).port,
    async close(graceMs = 2_000) {
      h1Server?.close(); // stops its header checks
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const session of h2Sessions) session.close();
      const timer = setTimeout(() => sockets.forEach((s) => s.destroy()), graceMs);
      // Idle HTTP/1.1 keep-alive connections would hold close() forever; busy ones (a stream
      // ending with UNAVAILABLE, say) finish first, as HTTP/2 sessions do after session.close().
      for (const c of h1Conns) if (!(c as { _httpMessage?: unknown })._httpMessage) c.end();
      await closed;
      clearTimeout(timer);
    },
  };
}

/** Resolves once `server` listens; rejects with the cause (EADDRINUSE, …) if it cannot. */
export function listenOn(server: net.Server, host: string, port: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

/** Reads until the bytes match or leave the HTTP/2 preface, then hands over what was read. */
function sniff(socket: net.Socket, route: (isH2: boolean, head: Buffer) => void): void {
  let head = Buffer.alloc(0);
  const onData = (chunk: Buffer) => {
    head = Buffer.concat([head, chunk]);
    const n = Math.min(head.length, PREFACE.length);
    const prefixMatches = head.subarray(0, n).equals(PREFACE.subarray(0, n));
    if (prefixMatches && head.length < PREFACE.length) return;
    socket.off("data", onData);
    socket.off("error", onEarlyError);
    socket.pause();
    route(prefixMatches, head);
  };
  const onEarlyError = () => socket.destroy();
  socket.on("data", onData);
  socket.on("error", onEarlyError);
}
