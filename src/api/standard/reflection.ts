// gRPC server reflection (grpc.reflection.v1 and v1alpha) so tools like buf curl, grpcurl and
// Postman can discover the API without a copy of the protos. One implementation serves both
// versions: their messages differ only in package name, and handlers may yield plain init objects.
// Files are served as buf built them, with their comments (source info), so `describe` shows them.
import type { ConnectRouter } from "@connectrpc/connect";
import { Code } from "@connectrpc/connect";
import type { DescExtension, DescFile } from "@bufbuild/protobuf";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { nestedTypes } from "@bufbuild/protobuf/reflect";
import { base64Decode } from "@bufbuild/protobuf/wire";
import { FileDescriptorProtoSchema, FileDescriptorSetSchema, type FileDescriptorProto } from "@bufbuild/protobuf/wkt";
import { DESCRIPTOR_SET_BASE64 } from "./descriptor-set.gen.js";
import * as v1 from "../../../gen/grpc/reflection/v1/reflection_pb.js";
import * as v1alpha from "../../../gen/grpc/reflection/v1alpha/reflection_pb.js";

type Request = v1.ServerReflectionRequest | v1alpha.ServerReflectionRequest;

// The response oneof as a plain init object, valid for either version.
type Answer =
  | { case: "fileDescriptorResponse"; value: { fileDescriptorProto: Uint8Array[] } }
  | { case: "allExtensionNumbersResponse"; value: { baseTypeName: string; extensionNumber: number[] } }
  | { case: "listServicesResponse"; value: { service: { name: string }[] } }
  | { case: "errorResponse"; value: { errorCode: number; errorMessage: string } };

interface Index {
  services: string[];
  files: Map<string, DescFile>;
  symbols: Map<string, DescFile>;
  messages: Set<string>;
  extensions: Map<string, DescExtension[]>; // keyed by extendee type name
  /** The descriptors with source info, by file name (the generated code's lack comments). */
  withComments: Map<string, FileDescriptorProto>;
  encoded: Map<DescFile, Uint8Array>;
}

export function registerReflection(router: ConnectRouter, files: DescFile[]): void {
  const index = buildIndex(files);
  router.service(v1.ServerReflection, { serverReflectionInfo: (reqs) => reflect(index, reqs) });
  router.service(v1alpha.ServerReflection, { serverReflectionInfo: (reqs) => reflect(index, reqs) });
}

async function* reflect<R extends Request>(index: Index, requests: AsyncIterable<R>) {
  for await (const req of requests) {
    yield { validHost: req.host, originalRequest: req, messageResponse: answer(index, req.messageRequest) };
  }
}

function answer(index: Index, request: Request["messageRequest"]): Answer {
  switch (request.case) {
    case "listServices":
      return { case: "listServicesResponse", value: { service: index.services.map((name) => ({ name })) } };
    case "fileByFilename":
      return withDependencies(index, index.files.get(request.value), `file ${request.value}`);
    case "fileContainingSymbol":
      return withDependencies(index, index.symbols.get(request.value), `symbol ${request.value}`);
    case "fileContainingExtension": {
      const { containingType, extensionNumber } = request.value;
      const ext = index.extensions.get(containingType)?.find((e) => e.number === extensionNumber);
      return withDependencies(index, ext?.file, `extension ${extensionNumber} of ${containingType}`);
    }
    case "allExtensionNumbersOfType": {
      // A known message without extensions is a valid, empty answer; an unknown type is not.
      if (!index.messages.has(request.value)) return notFound(`type ${request.value}`);
      const numbers = (index.extensions.get(request.value) ?? []).map((e) => e.number);
      return { case: "allExtensionNumbersResponse", value: { baseTypeName: request.value, extensionNumber: numbers } };
    }
    default:
      return { case: "errorResponse", value: { errorCode: Code.InvalidArgument, errorMessage: "empty message_request" } };
  }
}

function notFound(what: string): Answer {
  return { case: "errorResponse", value: { errorCode: Code.NotFound, errorMessage: `${what} not found` } };
}

// Clients cannot build a descriptor without its imports, so every answer carries the closure,
// the requested file first.
function withDependencies(index: Index, file: DescFile | undefined, what: string): Answer {
  if (!file) return notFound(what);
  const closure = walk([file]);
  const fileDescriptorProto = closure.map((f) => {
    let bytes = index.encoded.get(f);
    if (!bytes) index.encoded.set(f, (bytes = toBinary(FileDescriptorProtoSchema, index.withComments.get(f.proto.name) ?? f.proto)));
    return bytes;
  });
  return { case: "fileDescriptorResponse", value: { fileDescriptorProto } };
}

// Files and their transitive imports, breadth-first, each once.
function walk(roots: DescFile[]): DescFile[] {
  const seen = new Map<string, DescFile>();
  const queue = [...roots];
  for (let f = queue.shift(); f; f = queue.shift()) {
    if (seen.has(f.proto.name)) continue;
    seen.set(f.proto.name, f);
    queue.push(...f.dependencies);
  }
  return [...seen.values()];
}

function buildIndex(roots: DescFile[]): Index {
  const index: Index = {
    // Only the given files are served; their imports are resolvable but not listed.
    services: roots.flatMap((f) => f.services.map((s) => s.typeName)),
    files: new Map(),
    symbols: new Map(),
    messages: new Set(),
    extensions: new Map(),
    withComments: new Map(fromBinary(FileDescriptorSetSchema, base64Decode(DESCRIPTOR_SET_BASE64)).file.map((f) => [f.name, f])),
    encoded: new Map(),
  };
  for (const file of walk(roots)) {
    index.files.set(file.proto.name, file);
    const add = (name: string) => index.symbols.set(name, file);
    for (const type of nestedTypes(file)) {
      add(type.typeName);
      switch (type.kind) {
        case "message":
          index.messages.add(type.typeName);
          type.fields.forEach((f) => add(`${type.typeName}.${f.name}`));
          type.oneofs.forEach((o) => add(`${type.typeName}.${o.name}`));
          break;
        case "enum": {
          // Enum values are scoped as siblings of their enum, per protobuf name resolution.
          const scope = type.parent?.typeName ?? file.proto.package;
          type.values.forEach((v) => add(scope ? `${scope}.${v.name}` : v.name));
          break;
        }
        case "service":
          type.methods.forEach((m) => add(`${type.typeName}.${m.name}`));
          break;
        case "extension": {
          const list = index.extensions.get(type.extendee.typeName) ?? [];
          index.extensions.set(type.extendee.typeName, [...list, type]);
          break;
        }
      }
    }
  }
  return index;
}
