import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { create, fromBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { file_email_v1_email_service } from "../../../gen/email/v1/email_service_pb.js";
import { file_grpc_health_v1_health } from "../../../gen/grpc/health/v1/health_pb.js";
import type { ServerReflectionResponse } from "../../../gen/grpc/reflection/v1/reflection_pb.js";
import { ServerReflection, ServerReflectionRequestSchema } from "../../../gen/grpc/reflection/v1/reflection_pb.js";
import { registerReflection } from "../../../src/api/standard/reflection.js";
import { createHealth } from "../../../src/api/standard/health.js";
import { bufCurl, startServer, type TestServer } from "./server.js";

let server: TestServer;
beforeAll(async () => {
  const health = createHealth();
  server = await startServer((router) => {
    registerReflection(router, [file_email_v1_email_service, file_grpc_health_v1_health]);
    health.register(router);
  });
});
afterAll(() => server.close());

describe.each(["grpc-v1", "grpc-v1alpha"])("buf curl --reflect-protocol %s", (protocol) => {
  const reflect = ["--reflect-protocol", protocol];

  it("lists the served services", async () => {
    const out = (await bufCurl(...reflect, "--list-services", server.url)).split("\n");
    expect(out).toEqual(expect.arrayContaining(["email.v1.EmailService", "grpc.health.v1.Health"]));
  });

  it("lists the methods", async () => {
    const out = (await bufCurl(...reflect, "--list-methods", server.url)).split("\n");
    expect(out).toEqual(expect.arrayContaining(["email.v1.EmailService/Send", "grpc.health.v1.Health/Check"]));
  });

  // buf curl has no --describe; encoding a request that uses outbox.proto's Attachment and the
  // well-known Timestamp proves the whole closure resolved. The call itself then reaches the
  // server, which does not serve EmailService here: exit code is Unimplemented (12) << 3.
  it("resolves the full schema of email.v1.EmailService/Send", async () => {
    const data = JSON.stringify({ sendAt: "2030-01-01T00:00:00Z", attachments: [{ filename: "a.txt" }] });
    const call = bufCurl(...reflect, "--data", data, `${server.url}/email.v1.EmailService/Send`);
    await expect(call).rejects.toMatchObject({ code: 12 << 3 });
  });

  it("invokes grpc.health.v1.Health/Check", async () => {
    const out = await bufCurl(...reflect, "--data", "{}", `${server.url}/grpc.health.v1.Health/Check`);
    expect(JSON.parse(out)).toEqual({ status: "SERVING" });
  });
});

describe("ServerReflectionInfo over a connect-node gRPC client", () => {
  type Ask = MessageInitShape<typeof ServerReflectionRequestSchema>["messageRequest"];
  async function ask(...inits: Ask[]): Promise<ServerReflectionResponse[]> {
    const client = createClient(ServerReflection, createGrpcTransport({ baseUrl: server.url }));
    async function* requests() {
      for (const messageRequest of inits) yield create(ServerReflectionRequestSchema, { host: "h", messageRequest });
    }
    const responses: ServerReflectionResponse[] = [];
    for await (const res of client.serverReflectionInfo(requests())) responses.push(res);
    return responses;
  }

  function fileNames(res: ServerReflectionResponse | undefined): string[] {
    if (res?.messageResponse.case !== "fileDescriptorResponse") throw new Error(`unexpected ${res?.messageResponse.case}`);
    return res.messageResponse.value.fileDescriptorProto.map((b) => fromBinary(FileDescriptorProtoSchema, b).name);
  }

  it("answers file_containing_symbol with the file and its dependency closure", async () => {
    const [res] = await ask({ case: "fileContainingSymbol", value: "email.v1.EmailService" });
    expect(res?.validHost).toBe("h");
    expect(res?.originalRequest?.messageRequest).toEqual({ case: "fileContainingSymbol", value: "email.v1.EmailService" });
    const names = fileNames(res);
    expect(names[0]).toBe("email/v1/email_service.proto");
    expect(names).toEqual(expect.arrayContaining(["email/v1/outbox.proto", "google/protobuf/timestamp.proto"]));
    expect(new Set(names).size).toBe(names.length);
  });

  it("resolves methods, fields, nested symbols and well-known files", async () => {
    const res = await ask(
      { case: "fileContainingSymbol", value: "email.v1.EmailService.Send" },
      { case: "fileContainingSymbol", value: "email.v1.SendRequest.send_at" },
      { case: "fileContainingSymbol", value: "google.protobuf.Timestamp" },
      { case: "fileByFilename", value: "google/protobuf/timestamp.proto" },
      { case: "fileByFilename", value: "grpc/health/v1/health.proto" },
    );
    expect(res.map((r) => fileNames(r)[0])).toEqual([
      "email/v1/email_service.proto",
      "email/v1/email_service.proto",
      "google/protobuf/timestamp.proto",
      "google/protobuf/timestamp.proto",
      "grpc/health/v1/health.proto",
    ]);
  });

  it("reports unknown names as NOT_FOUND and keeps the stream going", async () => {
    const res = await ask(
      { case: "fileContainingSymbol", value: "email.v1.Nope" },
      { case: "fileByFilename", value: "nope.proto" },
      { case: "fileContainingExtension", value: { containingType: "email.v1.SendRequest", extensionNumber: 100 } },
      { case: "listServices", value: "" },
    );
    for (const r of res.slice(0, 3)) {
      expect(r.messageResponse).toMatchObject({ case: "errorResponse", value: { errorCode: 5 } });
    }
    expect(res[3]?.messageResponse).toMatchObject({ case: "listServicesResponse" });
  });

  it("answers all_extension_numbers_of_type with an empty list for a known message", async () => {
    const [known, unknown] = await ask(
      { case: "allExtensionNumbersOfType", value: "email.v1.SendRequest" },
      { case: "allExtensionNumbersOfType", value: "email.v1.Nope" },
    );
    expect(known?.messageResponse).toMatchObject({
      case: "allExtensionNumbersResponse",
      value: { baseTypeName: "email.v1.SendRequest", extensionNumber: [] },
    });
    expect(unknown?.messageResponse).toMatchObject({ case: "errorResponse", value: { errorCode: 5 } });
  });
});
