// Every kind of client the service must serve, built one way so test files can share them:
// connect-node (gRPC, gRPC-Web, Connect on HTTP/1.1 and HTTP/2), connect-web over Node's fetch,
// grpc-js on the .proto itself, curl posting Connect JSON, and `buf curl` with reflection.
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { createClient, type Client, type Transport } from "@connectrpc/connect";
import * as node from "@connectrpc/connect-node";
import * as web from "@connectrpc/connect-web";
import * as grpc from "@grpc/grpc-js";
import { expect, vi } from "vitest";
import * as protoLoader from "@grpc/proto-loader";
import { EmailService } from "../../gen/email/v1/email_service_pb.js";
import { OutboxStatus } from "../../gen/email/v1/outbox_pb.js";
import { bufCurl } from "../api/standard/server.js";

export type EmailClient = Client<typeof EmailService>;

/** Transports by name; web ones use Node's global fetch (HTTP/1.1). */
export const TRANSPORTS = {
  "connect-node gRPC (HTTP/2)": (baseUrl: string) => node.createGrpcTransport({ baseUrl }),
  "connect-node gRPC-Web (HTTP/1.1)": (baseUrl: string) => node.createGrpcWebTransport({ baseUrl, httpVersion: "1.1" }),
  "connect-node gRPC-Web (HTTP/2)": (baseUrl: string) => node.createGrpcWebTransport({ baseUrl, httpVersion: "2" }),
  "connect-node Connect (HTTP/1.1)": (baseUrl: string) => node.createConnectTransport({ baseUrl, httpVersion: "1.1" }),
  "connect-node Connect (HTTP/2)": (baseUrl: string) => node.createConnectTransport({ baseUrl, httpVersion: "2" }),
  "connect-web Connect (fetch)": (baseUrl: string) => web.createConnectTransport({ baseUrl }),
  "connect-web gRPC-Web (fetch)": (baseUrl: string) => web.createGrpcWebTransport({ baseUrl }),
} satisfies Record<string, (baseUrl: string) => Transport>;

export type TransportName = keyof typeof TRANSPORTS;

/** An EmailService client; Connect over HTTP/1.1 unless another transport is named. */
export function emailClient(baseUrl: string, transport: TransportName = "connect-node Connect (HTTP/1.1)"): EmailClient {
  return createClient(EmailService, TRANSPORTS[transport](baseUrl));
}

/** Sends a short message and waits until its row is SENT; returns the row. */
export async function sendUntilSent(email: EmailClient, accountId: number, to: string[]) {
  const id = (await email.send({ accountId, to, subject: "Your order", bodyText: "b" })).outbox!.outboxId;
  return vi.waitFor(
    async () => {
      const { outbox } = await email.getOutbox({ outboxId: id });
      expect(outbox!.status).toBe(OutboxStatus.SENT);
      return outbox!;
    },
    { timeout: 15_000 },
  );
}

const PROTO_DIR = fileURLToPath(new URL("../../proto", import.meta.url));

/**
 * grpc-js on the same .proto the service is generated from (EmailService unless another file
 * and service are named). Fields keep their proto names (snake_case);
 * google/protobuf/timestamp.proto comes bundled with protobufjs, under proto-loader.
 */
export function grpcJsClient(baseUrl: string, file = "email/v1/email_service.proto", service = "email.v1.EmailService") {
  const def = protoLoader.loadSync(file, {
    includeDirs: [PROTO_DIR],
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const Service = service
    .split(".")
    .reduce<unknown>(
      (pkg, name) => (pkg as Record<string, unknown>)[name],
      grpc.loadPackageDefinition(def),
    ) as grpc.ServiceClientConstructor;
  const client = new Service(new URL(baseUrl).host, grpc.credentials.createInsecure());
  return {
    /** A unary call; rejects with the grpc-js ServiceError (code, details, metadata). */
    unary<T = Record<string, unknown>>(method: string, req: Record<string, unknown>): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        const fn = client[method] as (r: unknown, cb: (err: grpc.ServiceError | null, res: T) => void) => void;
        fn.call(client, req, (err, res) => (err ? reject(err) : resolve(res)));
      });
    },
    /** The grpc-js client itself, for streaming calls. */
    client,
    close: () => client.close(),
  };
}

const run = promisify(execFile);

export interface CurlResult {
  status: number;
  body: Record<string, unknown>;
}

/** `curl` posting Connect JSON (HTTP/1.1) to a unary method, e.g. "Send". */
export async function curlConnect(baseUrl: string, method: string, body: unknown): Promise<CurlResult> {
  const { stdout } = await run("curl", [
    "-sS",
    "--max-time",
    "20",
    "-X",
    "POST",
    "-H",
    "Content-Type: application/json",
    "--data-binary",
    JSON.stringify(body),
    "--write-out",
    "\n%{http_code}",
    `${baseUrl}/email.v1.EmailService/${method}`,
  ]);
  const cut = stdout.lastIndexOf("\n");
  return { status: Number(stdout.slice(cut + 1)), body: JSON.parse(stdout.slice(0, cut)) as Record<string, unknown> };
}

/** `buf curl` over gRPC (h2c), schema from the server's reflection; returns the JSON response. */
export async function bufCurlEmail(baseUrl: string, method: string, body: unknown): Promise<Record<string, unknown>> {
  const out = await bufCurl("--data", JSON.stringify(body), `${baseUrl}/email.v1.EmailService/${method}`);
  return JSON.parse(out) as Record<string, unknown>;
}
