// grpc-message as the gRPC spec writes it (PROTOCOL-HTTP2.md): percent-encode only the UTF-8
// bytes outside 0x20-0x7E, and '%'. The Connect runtime encodes it with encodeURIComponent, so
// '/', ':', '@' and spaces arrive as %2F, %3A, %40, %20, and grpc-js, which decodes only what the
// spec encodes, shows them to its users like that. Decoders of either form read the spec form.
import type { RequestHandler } from "./listen.js";

const HEX = "0123456789ABCDEF";

/** The spec's percent-encoding of a message. */
export function encodeGrpcMessage(message: string): string {
  let out = "";
  for (const byte of Buffer.from(message, "utf8")) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${HEX[byte >> 4]}${HEX[byte & 15]}`;
  }
  return out;
}

/** Re-encodes a grpc-message the runtime wrote with encodeURIComponent. */
export function respecGrpcMessage(value: string): string {
  try {
    return encodeGrpcMessage(decodeURIComponent(value));
  } catch {
    return value; // not percent-encoding we wrote: leave it as it is
  }
}

type Trailers = Record<string, string | string[] | undefined>;

/**
 * The handler, with gRPC trailers (HTTP/2, where grpc-message travels as a real trailer) written
 * in the spec's encoding. gRPC-Web carries its trailers inside the body, read by clients that
 * decode either form.
 */
export function withSpecGrpcMessage(handler: RequestHandler): RequestHandler {
  return (req, res) => {
    const addTrailers = res.addTrailers.bind(res) as (t: Trailers) => void;
    (res as { addTrailers: (t: Trailers) => void }).addTrailers = (trailers: Trailers) => {
      const next: Trailers = {};
      for (const [key, value] of Object.entries(trailers)) {
        next[key] = key.toLowerCase() === "grpc-message" && typeof value === "string" ? respecGrpcMessage(value) : value;
      }
      addTrailers(next);
    };
    handler(req, res);
  };
}
