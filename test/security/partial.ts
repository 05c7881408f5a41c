// Requests whose body is declared large but only begun: the answer must come while the body is
// still unfinished, which shows the server decided without reading it.
import http from "node:http";
import http2 from "node:http2";
import { ConnectError } from "@connectrpc/connect";
import { errorFromJson } from "@connectrpc/connect/protocol-connect";
import { findTrailerError } from "@connectrpc/connect/protocol-grpc";

export interface PartialAnswer {
  error: ConnectError | undefined;
  /** Resolves when the connection (HTTP/1.1) or the stream (HTTP/2) is closed. */
  closed: Promise<void>;
  /** Aborts the request (frees what it holds on the server). */
  abort(): void;
}

/** Connect (or gRPC-Web) over HTTP/1.1: `content-length: declared`, then `sent` bytes and a wait. */
export function partialH1(
  baseUrl: string,
  path: string,
  headers: Record<string, string>,
  declared: number,
  signal?: AbortSignal,
): Promise<PartialAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${baseUrl}${path}`, {
      method: "POST",
      agent: false,
      headers: { ...headers, "content-length": String(declared) },
    });
    signal?.addEventListener("abort", () => req.destroy());
    const closed = new Promise<void>((r) => req.once("socket", (s) => s.once("close", () => r())));
    req.on("error", () => undefined);
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("error", reject);
      res.on("end", () => {
        const all = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) all.set(k, String(v));
        const body = Buffer.concat(chunks);
        // gRPC-Web: the trailers are the body's last frame (flag 0x80), as header lines.
        if (body[0] === 0x80)
          for (const line of body.subarray(5).toString().split("\r\n")) {
            const colon = line.indexOf(":");
            if (colon > 0) all.set(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
          }
        let error = findTrailerError(all);
        if (!error && res.headers["content-type"]?.startsWith("application/json")) {
          error = errorFromJson(JSON.parse(body.toString()), undefined, new ConnectError("unreadable error"));
        }
        resolve({ error, closed, abort: () => req.destroy() });
      });
    });
    req.write(Buffer.alloc(1024, 0x20));
  });
}

/** gRPC over HTTP/2: a frame header declaring `declared` bytes, then `chunks` of `chunkSize` bytes. */
export function partialGrpc(
  baseUrl: string,
  path: string,
  headers: Record<string, string>,
  declared: number,
  chunks = 1,
  chunkSize = 1024,
): Promise<PartialAnswer> {
  return new Promise((resolve) => {
    const session = http2.connect(baseUrl);
    session.on("error", () => undefined);
    const stream = session.request(
      { ":method": "POST", ":path": path, "content-type": "application/grpc+proto", te: "trailers", ...headers },
      { endStream: false },
    );
    const closed = new Promise<void>((r) => stream.once("close", () => r()));
    let head: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    stream
      .on("response", (h) => {
        head = h;
        if (h["grpc-status"] !== undefined) setImmediate(finish); // trailers-only
      })
      .on("trailers", (t) => (trailers = t))
      .on("data", () => undefined);
    stream.on("error", () => undefined);
    const finish = () => {
      const all = new Headers();
      for (const source of [head, trailers])
        for (const [k, v] of Object.entries(source)) if (!k.startsWith(":") && v !== undefined) all.set(k, String(v));
      resolve({ error: findTrailerError(all), closed: closed.then(() => void session.close()), abort: () => session.destroy() });
    };
    // The answer is complete with its trailers; the request body never is.
    stream.once("trailers", () => setImmediate(finish));
    stream.once("close", finish);
    const frameHead = Buffer.alloc(5);
    frameHead.writeUInt32BE(declared, 1);
    stream.write(frameHead);
    for (let i = 0; i < chunks; i++) stream.write(Buffer.alloc(chunkSize, 0x0a));
  });
}
