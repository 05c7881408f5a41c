// grpc-message in the gRPC spec's encoding: grpc-js, which decodes only what the spec encodes
// (bytes outside 0x20-0x7E, and '%'), shows each message exactly as the server wrote it.
import { afterAll, beforeAll, expect, test } from "vitest";
import type { ServiceError } from "@grpc/grpc-js";
import { sinkAccount, startTestApp, type TestApp } from "../helpers/app.js";
import { grpcJsClient } from "../helpers/clients.js";
import { encodeGrpcMessage } from "../../src/api/grpc-message.js";

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ label: "grpc_message", json: { accounts: [sinkAccount(1, 2525)] }, background: false });
});
afterAll(() => t?.close());

async function details(call: Promise<unknown>): Promise<string> {
  const err = (await call.then(
    () => undefined,
    (e: unknown) => e,
  )) as ServiceError | undefined;
  if (!err) throw new Error("the call succeeded");
  return err.details;
}

test("grpc-js reads messages with '/', ':', '@', '%' and non-ASCII text as the server wrote them", async () => {
  const email = grpcJsClient(t.url);
  const health = grpcJsClient(t.url, "grpc/health/v1/health.proto", "grpc.health.v1.Health");
  try {
    expect(await details(email.unary("Send", { account_id: 1, to: [], subject: "", body_text: "" }))).toBe(
      "to/subject/body_text cannot be empty",
    );
    expect(await details(email.unary("Send", { account_id: 1, to: ["bob"], subject: "s", body_text: "b" }))).toBe(
      "to[0]: address is missing '@'",
    );
    expect(await details(health.unary("Check", { service: "почта.v1 100%" }))).toBe('unknown service "почта.v1 100%"');
  } finally {
    email.close();
    health.close();
  }
});

test("only bytes outside 0x20-0x7E and '%' are encoded", () => {
  expect(encodeGrpcMessage("a/b: c@d ~!")).toBe("a/b: c@d ~!");
  expect(encodeGrpcMessage("100% é\n")).toBe("100%25 %C3%A9%0A");
});
