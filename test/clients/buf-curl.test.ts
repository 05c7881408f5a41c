// grpcurl-style use without grpcurl: `buf curl` against the live server, its schema from server
// reflection. Lists services and methods, describes email.v1.EmailService through the reflection
// service itself (what `grpcurl describe` does), and calls Send over gRPC, gRPC-Web and Connect.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema, type FileDescriptorProto } from "@bufbuild/protobuf/wkt";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { EmailService } from "../../gen/email/v1/email_service_pb.js";
import { OutboxSchema } from "../../gen/email/v1/outbox_pb.js";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { startClientFixture, type ClientFixture } from "./fixture.js";

const run = promisify(execFile);
type BufProtocol = "grpc" | "grpcweb" | "connect";

let f: ClientFixture;
beforeAll(async () => {
  f = await startClientFixture("buf_curl");
});
afterAll(() => f?.close());

/** `buf curl` with the API key; gRPC over h2c, the others over HTTP/1.1. Rejects on a non-zero exit. */
async function bufCurl(protocol: BufProtocol, ...args: string[]): Promise<string> {
  const h2 = protocol === "grpc" ? ["--http2-prior-knowledge"] : [];
  const { stdout } = await run(
    "node_modules/.bin/buf",
    ["curl", "--protocol", protocol, ...h2, "-H", `authorization: Bearer ${f.apiKey}`, ...args],
    { timeout: 20_000 },
  );
  return stdout;
}

const lines = (out: string) => out.trim().split("\n");

test("--list-services shows the services reflection offers", async () => {
  expect(lines(await bufCurl("grpc", "--list-services", f.t.url))).toEqual(
    expect.arrayContaining(["email.v1.EmailService", "email.v1.MailboxService", "grpc.health.v1.Health"]),
  );
});

test("--list-methods shows every EmailService method", async () => {
  const methods = lines(await bufCurl("grpc", "--list-methods", f.t.url)).filter((m) => m.startsWith("email.v1.EmailService/"));
  expect(methods.sort()).toEqual(EmailService.methods.map((m) => `email.v1.EmailService/${m.name}`).sort());
});

/** grpcurl's `describe` output for a service, from its file descriptor. */
function describeService(file: FileDescriptorProto, name: string): string[] {
  const svc = file.service.find((s) => `${file.package}.${s.name}` === name);
  if (!svc) throw new Error(`${name} is not in ${file.name}`);
  return svc.method.map((m) => {
    const stream = (on: boolean | undefined) => (on ? "stream " : "");
    return `rpc ${m.name} ( ${stream(m.clientStreaming)}${m.inputType} ) returns ( ${stream(m.serverStreaming)}${m.outputType} );`;
  });
}

test("describe email.v1.EmailService: reflection answers with the contract's file descriptor", async () => {
  // buf curl has no `describe`: call the reflection service itself, its schema from proto/.
  const out = await bufCurl(
    "grpc",
    "--schema",
    "proto",
    "--reflect=false",
    "-d",
    JSON.stringify({ fileContainingSymbol: "email.v1.EmailService" }),
    `${f.t.url}/grpc.reflection.v1.ServerReflection/ServerReflectionInfo`,
  );
  const res = JSON.parse(out) as { fileDescriptorResponse: { fileDescriptorProto: string[] } };
  const files = res.fileDescriptorResponse.fileDescriptorProto.map((b64) =>
    fromBinary(FileDescriptorProtoSchema, Buffer.from(b64, "base64")),
  );
  const file = files.find((fd) => fd.name === "email/v1/email_service.proto")!;
  expect(file.dependency).toEqual([
    "email/v1/outbox.proto",
    "email/v1/template_service.proto",
    "google/protobuf/timestamp.proto",
    "google/rpc/status.proto",
  ]);
  expect(describeService(file, "email.v1.EmailService")).toEqual(
    EmailService.methods.map((m) => {
      const stream = m.methodKind === "server_streaming" ? "stream " : "";
      return `rpc ${m.name} ( .${m.input.typeName} ) returns ( ${stream}.${m.output.typeName} );`;
    }),
  );
});

describe.each<BufProtocol>(["grpc", "grpcweb", "connect"])("--protocol %s", (protocol) => {
  test("Send with --emit-defaults returns the whole Outbox, SENT, and the SMTP server has it", async () => {
    const subject = `buf curl ${protocol}`;
    const out = await bufCurl(
      protocol,
      "--emit-defaults",
      "-d",
      JSON.stringify({ accountId: 1, to: ["bob@example.com"], subject, bodyText: "hello", waitForAttempt: true }),
      `${f.t.url}/email.v1.EmailService/Send`,
    );
    const outbox = (JSON.parse(out) as { outbox: Record<string, unknown> }).outbox;
    expect(Object.keys(outbox).sort()).toEqual(OutboxSchema.fields.map((fd) => fd.jsonName).sort());
    expect(outbox.status).toBe("OUTBOX_STATUS_SENT");
    expect(f.received(outbox.messageId as string)?.parsed.subject).toBe(subject);
  });

  test("a bad Send fails with the ErrorInfo reason in the printed details", async () => {
    const err = (await bufCurl(
      protocol,
      "-d",
      JSON.stringify({ accountId: 1, to: ["not an address"], subject: "x", bodyText: "y" }),
      `${f.t.url}/email.v1.EmailService/Send`,
    ).catch((e: unknown) => e)) as { stderr: string };
    const printed = JSON.parse(err.stderr) as { code: string; details: { type: string; value: string }[] };
    expect(printed.code).toBe("invalid_argument");
    const info = printed.details.find((d) => d.type === "google.rpc.ErrorInfo")!;
    expect(fromBinary(ErrorInfoSchema, Buffer.from(info.value, "base64")).reason).toBe("ADDRESS_INVALID");
  });
});

test("the README's template commands: save a template, then Send with it and its data", async () => {
  const saved = await bufCurl(
    "grpc",
    "-d",
    JSON.stringify({
      accountId: 1,
      name: "welcome",
      content: {
        subject: "Welcome, {{name}}",
        html: "<p>Hi {{name}}, your plan is {{plan}}.</p>",
        sampleData: { name: "Ada", plan: "pro" },
      },
    }),
    `${f.t.url}/email.v1.TemplateService/CreateTemplate`,
  );
  expect(JSON.parse(saved)).toMatchObject({ template: { name: "welcome", version: 1 } });
  const out = await bufCurl(
    "grpc",
    "-d",
    JSON.stringify({
      accountId: 1,
      to: ["bob@example.com"],
      template: { name: "welcome", data: { name: "Bob", plan: "pro" } },
      waitForAttempt: true,
    }),
    `${f.t.url}/email.v1.EmailService/Send`,
  );
  const outbox = (JSON.parse(out) as { outbox: Record<string, unknown> }).outbox;
  expect(outbox).toMatchObject({ status: "OUTBOX_STATUS_SENT", subject: "Welcome, Bob", templateName: "welcome", templateVersion: 1 });
  expect(f.received(outbox.messageId as string)?.parsed.html).toBe("<p>Hi Bob, your plan is pro.</p>");
});
