// Raw requests that no generated client would send: arbitrary bytes, headers and content types,
// as Connect over HTTP/1.1 and as gRPC frames over HTTP/2. Each answer is read back as a
// ConnectError (decoded from the wire exactly as a client would) or as a bare HTTP status.
import http from "node:http";
import http2 from "node:http2";
import type { JsonValue } from "@bufbuild/protobuf";
import { ConnectError } from "@connectrpc/connect";
import { endStreamFromJson, errorFromJson } from "@connectrpc/connect/protocol-connect";
import { findTrailerError } from "@connectrpc/connect/protocol-grpc";

/** What came back: OK, an RPC error, or an HTTP status with no RPC error in it. */
export type RawAnswer = { ok: true } | { error: ConnectError } | { http: number };

/** POSTs `body` to /<method> over HTTP/1.1; Connect errors are JSON with the HTTP status. */
export function postConnect(
  baseUrl: string,
  method: string,
  body: string | Uint8Array,
  headers: Record<string, string>,
): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${baseUrl}/${method}`, { method: "POST", headers }, (res) => {
      const chunks: Buffer[] = [];
      res
        .on("data", (c: Buffer) => chunks.push(c))
        .on("end", () => {
          const status = res.statusCode!;
          const type = String(res.headers["content-type"]);
          const body = Buffer.concat(chunks);
          // A streaming call answers 200 and ends with an end-stream frame that may hold the error.
          if (status === 200 && type.startsWith("application/connect+")) {
            const { error } = endStreamFromJson(lastFrame(body));
            return resolve(error ? { error } : { ok: true });
          }
          if (status === 200) return resolve({ ok: true });
          const json = type.startsWith("application/json") ? (JSON.parse(body.toString()) as JsonValue) : undefined;
          // Only a body with a Connect error code is an RPC error; anything else is plain HTTP.
          if (typeof (json as { code?: unknown } | undefined)?.code !== "string") return resolve({ http: status });
          resolve({ error: errorFromJson(json!, undefined, new ConnectError(`HTTP ${status} with an unreadable error body`)) });
        });
    });
    req.on("error", reject).end(body);
  });
}

/** The payload of the last frame of an enveloped (streaming) body. */
function lastFrame(body: Buffer): Uint8Array {
  let last: Uint8Array = new Uint8Array();
  for (let at = 0; at + 5 <= body.length; at += 5 + body.readUInt32BE(at + 1)) {
    last = body.subarray(at + 5, at + 5 + body.readUInt32BE(at + 1));
  }
  return last;
}

/** A gRPC length-prefixed message: flag byte, 4-byte big-endian length, payload. */
export function grpcFrame(payload: Uint8Array, opts: { compressed?: boolean; declaredLength?: number } = {}): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt8(opts.compressed ? 1 : 0, 0);
  head.writeUInt32BE(opts.declaredLength ?? payload.length, 1);
  return Buffer.concat([head, payload]);
}

/** One gRPC call over a fresh HTTP/2 session; the status comes from the trailers (or headers). */
export function postGrpc(baseUrl: string, method: string, body: string | Uint8Array, headers: Record<string, string>): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(baseUrl);
    session.on("error", reject);
    const req = session.request({ ":method": "POST", ":path": `/${method}`, te: "trailers", ...headers });
    let head: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    req.on("response", (h) => (head = h)).on("trailers", (t) => (trailers = t));
    req
      .on("data", () => undefined)
      .on("error", reject)
      .on("end", () => {
        session.close();
        const status = Number(head[":status"]);
        if (status !== 200) return resolve({ http: status });
        const all = new Headers();
        for (const source of [head, trailers]) {
          for (const [k, v] of Object.entries(source)) if (!k.startsWith(":") && v !== undefined) all.set(k, String(v));
        }
        const error = findTrailerError(all);
        resolve(error ? { error } : all.get("grpc-status") === "0" ? { ok: true } : { http: status });
      });
    req.end(body);
  });
}
