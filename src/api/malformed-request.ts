// connect-es answers request bytes that do not decode as protobuf (malformed wire data, invalid
// UTF-8 in a string field) with INTERNAL "parse binary: …", which clients and alerting take for
// a server fault. It is the client's: this rewrites that one answer, in whichever protocol it was
// given, to INVALID_ARGUMENT with reason REQUEST_MALFORMED. Every other answer passes untouched.
import { Code, ConnectError } from "@connectrpc/connect";
import { encodeEnvelope, type UniversalServerResponse } from "@connectrpc/connect/protocol";
import {
  codeToHttpStatus,
  endStreamFlag,
  endStreamFromJson,
  endStreamToJson,
  errorFromJsonBytes,
  errorToJsonBytes,
} from "@connectrpc/connect/protocol-connect";
import { findTrailerError, setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { trailerFlag, trailerParse, trailerSerialize } from "@connectrpc/connect/protocol-grpc-web";
import { apiError } from "./handlers/errors.js";

const PARSE_BINARY = "parse binary: ";

/** The client's error for connect's "parse binary" INTERNAL; undefined for anything else. */
export function malformedRequest(err: ConnectError | undefined): ConnectError | undefined {
  if (err?.code !== Code.Internal || !err.rawMessage.startsWith(PARSE_BINARY)) return undefined;
  return apiError(
    Code.InvalidArgument,
    "REQUEST_MALFORMED",
    `the request is not a valid protobuf message: ${err.rawMessage.slice(PARSE_BINARY.length)}`,
  );
}

export function rewriteMalformed(res: UniversalServerResponse, requestContentType: string): UniversalServerResponse {
  const type = requestContentType.toLowerCase();
  if (!res.body || !(Symbol.asyncIterator in res.body)) return res;
  const body = res.body;
  if (type.startsWith("application/grpc-web")) return { ...res, body: mapFrames(body, trailerFlag, grpcWebTrailer) };
  if (type.startsWith("application/grpc")) return { ...res, body: afterBody(body, () => res.trailer && grpcTrailer(res.trailer)) };
  if (type.startsWith("application/connect+")) return { ...res, body: mapFrames(body, endStreamFlag, connectEndStream) };
  if (type.startsWith("application/proto") && res.status === codeToHttpStatus(Code.Internal)) return connectUnary(res, body);
  return res;
}

function grpcTrailer(trailer: Headers): void {
  const replacement = malformedRequest(findTrailerError(trailer));
  if (!replacement) return;
  for (const name of ["grpc-status", "grpc-message", "grpc-status-details-bin"]) trailer.delete(name);
  setTrailerStatus(trailer, replacement);
}

function grpcWebTrailer(data: Uint8Array): Uint8Array | undefined {
  const trailer = trailerParse(data);
  const replacement = malformedRequest(findTrailerError(trailer));
  if (!replacement) return undefined;
  for (const name of ["grpc-status", "grpc-message", "grpc-status-details-bin"]) trailer.delete(name);
  return trailerSerialize(setTrailerStatus(trailer, replacement));
}

function connectEndStream(data: Uint8Array): Uint8Array | undefined {
  const end = endStreamFromJson(data);
  const replacement = malformedRequest(end.error);
  if (!replacement) return undefined;
  return new TextEncoder().encode(JSON.stringify(endStreamToJson(end.metadata, replacement, undefined)));
}

function connectUnary(res: UniversalServerResponse, body: AsyncIterable<Uint8Array>): UniversalServerResponse {
  const out = { ...res };
  out.body = (async function* () {
    const chunks: Uint8Array[] = [];
    for await (const chunk of body) chunks.push(chunk);
    const bytes = Buffer.concat(chunks);
    let replacement: ConnectError | undefined;
    try {
      replacement = malformedRequest(errorFromJsonBytes(bytes, undefined, new ConnectError("", Code.Unknown)));
    } catch {
      replacement = undefined; // not an error body
    }
    // connect-node writes the head after reading the first chunk, so it may still change.
    if (replacement) {
      out.status = codeToHttpStatus(Code.InvalidArgument);
      out.header?.delete("content-length");
    }
    yield replacement ? errorToJsonBytes(replacement, undefined) : bytes;
  })();
  return out;
}

async function* afterBody(body: AsyncIterable<Uint8Array>, then: () => void): AsyncGenerator<Uint8Array> {
  yield* body;
  then();
}

/** Rewrites the payload of envelopes carrying `flag` (the last frame of a stream); a compressed one passes as it is. */
async function* mapFrames(
  body: AsyncIterable<Uint8Array>,
  flag: number,
  rewrite: (data: Uint8Array) => Uint8Array | undefined,
): AsyncGenerator<Uint8Array> {
  for await (const chunk of body) {
    const length = chunk.byteLength >= 5 ? new DataView(chunk.buffer, chunk.byteOffset).getUint32(1) : -1;
    const final = chunk[0] === flag && chunk.byteLength === 5 + length;
    let replaced: Uint8Array | undefined;
    try {
      replaced = final ? rewrite(chunk.subarray(5)) : undefined;
    } catch {
      replaced = undefined; // not a frame this can read: leave it as it is
    }
    yield replaced ? encodeEnvelope(flag, replaced) : chunk;
  }
}
