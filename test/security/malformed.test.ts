// Request bytes that do not decode as protobuf (malformed wire data, invalid UTF-8 in a string)
// are the client's error in every protocol: INVALID_ARGUMENT, reason REQUEST_MALFORMED, never
// INTERNAL. (gRPC over HTTP/2 is in the corpus; these are the HTTP/1.1 protocols.)
import http from "node:http";
import { afterAll, beforeAll, expect, test } from "vitest";
import { Code, ConnectError } from "@connectrpc/connect";
import { endStreamFromJson, errorFromJsonBytes } from "@connectrpc/connect/protocol-connect";
import { findTrailerError } from "@connectrpc/connect/protocol-grpc";
import { trailerParse } from "@connectrpc/connect/protocol-grpc-web";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { sinkAccount, startTestApp, type TestApp } from "../helpers/app.js";
import { grpcFrame } from "./raw.js";

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ label: "malformed", background: false, json: { accounts: [sinkAccount(1, 1)] } });
});
afterAll(async () => {
  await t?.close();
});

const RANDOM = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]);
// Send { account_id: 1, subject: "\xc3(" }: field 3, two bytes that are not UTF-8.
const BAD_UTF8 = Buffer.from([0x08, 0x01, 0x1a, 0x02, 0xc3, 0x28]);

function post(path: string, contentType: string, body: Buffer): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${t.url}/email.v1.EmailService/${path}`,
      { method: "POST", headers: { "content-type": contentType } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c)).on("end", () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks) }));
      },
    );
    req.on("error", reject).end(body);
  });
}

/** The payload of the last enveloped frame of a body. */
function lastFrame(body: Buffer): Uint8Array {
  let last: Uint8Array = new Uint8Array();
  for (let at = 0; at + 5 <= body.length; at += 5 + body.readUInt32BE(at + 1))
    last = body.subarray(at + 5, at + 5 + body.readUInt32BE(at + 1));
  return last;
}

const PROTOCOLS: [string, (bytes: Buffer) => Promise<ConnectError | undefined>][] = [
  [
    "Connect unary (application/proto)",
    async (bytes) => {
      const res = await post("Send", "application/proto", bytes);
      expect(res.status).toBe(400);
      return errorFromJsonBytes(res.body, undefined, new ConnectError("unreadable"));
    },
  ],
  [
    "Connect streaming (application/connect+proto)",
    async (bytes) => {
      const res = await post("WatchOutbox", "application/connect+proto", grpcFrame(bytes));
      return endStreamFromJson(lastFrame(res.body)).error;
    },
  ],
  [
    "gRPC-Web",
    async (bytes) => {
      const res = await post("Send", "application/grpc-web+proto", grpcFrame(bytes));
      return findTrailerError(trailerParse(lastFrame(res.body)));
    },
  ],
];

const CASES = PROTOCOLS.flatMap(([name, call]) => [
  [`${name}: random bytes`, call, RANDOM] as const,
  // WatchOutboxRequest has no string field to spoil; Send has.
  ...(name.includes("streaming") ? [] : [[`${name}: invalid UTF-8 in the subject`, call, BAD_UTF8] as const]),
]);

test.each(CASES)("%s is INVALID_ARGUMENT REQUEST_MALFORMED", async (_name, call, bytes) => {
  const err = await call(bytes);
  expect(err?.code).toBe(Code.InvalidArgument);
  expect(err?.findDetails(ErrorInfoSchema)[0]?.reason).toBe("REQUEST_MALFORMED");
  expect(err?.rawMessage).toMatch(/^the request is not a valid protobuf message: /);
});
