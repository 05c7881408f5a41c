// Reflection as grpcurl uses it, from grpc-js over the real service: the google.rpc files that
// decode every refusal's details are served, descriptors carry the protos' comments, and a client
// that walks away from the stream is a cancelled call, not an internal error.
import { afterAll, beforeAll, expect, test, vi } from "vitest";
import { fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema, type FileDescriptorProto } from "@bufbuild/protobuf/wkt";
import type { ClientDuplexStream } from "@grpc/grpc-js";
import { startTestApp, type TestApp } from "../../helpers/app.js";
import { grpcJsClient } from "../../helpers/clients.js";
import { scrape, total } from "../../ops/scrape.js";

let t: TestApp;
let reflection: ReturnType<typeof grpcJsClient>;
beforeAll(async () => {
  t = await startTestApp({ label: "reflection_grpcjs", background: false });
  reflection = grpcJsClient(t.url, "grpc/reflection/v1/reflection.proto", "grpc.reflection.v1.ServerReflection");
});
afterAll(async () => {
  reflection?.close();
  await t?.close();
});

type Response = Record<string, unknown> & { message_response: string };
type Stream = ClientDuplexStream<Record<string, unknown>, Response>;

function open(): { stream: Stream; ask(req: Record<string, unknown>): Promise<Response> } {
  const stream = (reflection.client.ServerReflectionInfo as () => Stream)();
  const answers: Response[] = [];
  const waiting: ((r: Response) => void)[] = [];
  stream.on("data", (r: Response) => (waiting.shift() ?? ((x: Response) => answers.push(x)))(r));
  stream.on("error", () => undefined); // a cancelled stream reports CANCELLED here
  return {
    stream,
    ask(req) {
      stream.write(req);
      return new Promise((resolve) => (answers.length ? resolve(answers.shift()!) : waiting.push(resolve)));
    },
  };
}

async function files(req: Record<string, unknown>): Promise<FileDescriptorProto[]> {
  const { stream, ask } = open();
  const res = await ask(req);
  stream.end();
  expect(res.message_response).toBe("file_descriptor_response");
  const protos = (res.file_descriptor_response as { file_descriptor_proto: Buffer[] }).file_descriptor_proto;
  return protos.map((b) => fromBinary(FileDescriptorProtoSchema, b));
}

/** The leading comment of the element at `path` (field numbers and indexes, as in descriptor.proto). */
function comment(file: FileDescriptorProto, path: number[]): string | undefined {
  return file.sourceCodeInfo?.location.find((l) => l.path.join(".") === path.join("."))?.leadingComments;
}

test("the google.rpc files are served, so clients can decode ErrorInfo and BadRequest", async () => {
  for (const symbol of ["google.rpc.ErrorInfo", "google.rpc.BadRequest"]) {
    const [first, ...deps] = await files({ file_containing_symbol: symbol });
    expect(first!.name).toBe("google/rpc/error_details.proto");
    expect(deps.map((f) => f.name)).toContain("google/protobuf/duration.proto");
  }
  const [status] = await files({ file_by_filename: "google/rpc/status.proto" });
  expect(status!.messageType.map((m) => m.name)).toEqual(["Status"]);
});

test("descriptors carry the protos' comments", async () => {
  const [file] = await files({ file_containing_symbol: "email.v1.SendRequest" });
  expect(file!.name).toBe("email/v1/email_service.proto");
  const send = file!.messageType.findIndex((m) => m.name === "SendRequest");
  // 4 = message_type; the message's own comment, then its first field's (2 = field).
  expect(comment(file!, [4, send])).toBe(" SendRequest is a new message. Every field is validated before anything is written.\n");
  expect(comment(file!, [4, send, 2, 0])).toMatch(/\S/);
  // 6 = service, 2 = method: Send's comment.
  expect(comment(file!, [6, 0, 2, 0])).toContain("Send validates a message completely");
});

test("a client that cancels the stream is counted CANCELLED and logged at debug level only", async () => {
  const { stream, ask } = open();
  expect((await ask({ list_services: "" })).message_response).toBe("list_services_response");
  const ended = new Promise((resolve) => stream.on("status", resolve));
  stream.cancel();
  await ended;
  const handled = (code: string) => async () =>
    total(await scrape(t.url), "grpc_server_handled_total", { grpc_method: "ServerReflectionInfo", grpc_code: code });
  await vi.waitFor(async () => expect(await handled("CANCELLED")()).toBe(1), { timeout: 10_000, interval: 50 });
  expect(await handled("INTERNAL")()).toBe(0);
  expect(t.logs.filter((l) => (l.level as number) > 20 && l.method === "ServerReflectionInfo")).toEqual([]);
  expect(t.logs.some((l) => l.level === 20 && l.msg === "client cancelled the call" && l.method === "ServerReflectionInfo")).toBe(true);
});
