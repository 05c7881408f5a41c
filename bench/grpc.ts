// The benchmark's gRPC client: grpc-js on the service's .proto files, EmailService and
// grpc.health.v1.Health sharing one channel (one HTTP/2 connection).
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

const PROTO_DIR = fileURLToPath(new URL("../proto", import.meta.url));

type Unary = (req: unknown, cb: (err: grpc.ServiceError | null, res: unknown) => void) => void;

export interface SendReply {
  outbox: { outbox_id: string };
}

/** One event or heartbeat of a WatchOutbox stream, as proto-loader decodes it. */
export interface WatchItem {
  event?: { outbox_id: string; status: string; time?: { seconds: string; nanos: number } };
  heartbeat?: unknown;
}

export class BenchClient {
  private readonly email: grpc.Client & Record<string, unknown>;
  private readonly health: grpc.Client & Record<string, unknown>;

  /** `ownConnection`: a channel of its own (grpc-js otherwise shares one connection per target). */
  constructor(port: number, ownConnection = false) {
    const def = protoLoader.loadSync(["email/v1/email_service.proto", "grpc/health/v1/health.proto"], {
      includeDirs: [PROTO_DIR],
      keepCase: true,
      longs: String,
      enums: String,
      defaults: false,
      oneofs: true,
    });
    const pkg = grpc.loadPackageDefinition(def) as unknown as {
      email: { v1: { EmailService: grpc.ServiceClientConstructor } };
      grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } };
    };
    this.email = new pkg.email.v1.EmailService(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
      "grpc.max_receive_message_length": -1,
      "grpc.max_send_message_length": -1,
      ...(ownConnection ? { "grpc.use_local_subchannel_pool": 1 } : {}),
    }) as grpc.Client & Record<string, unknown>;
    this.health = new pkg.grpc.health.v1.Health(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
      channelOverride: this.email.getChannel(),
    }) as grpc.Client & Record<string, unknown>;
  }

  send(req: Record<string, unknown>): Promise<SendReply> {
    return this.unary(this.email, "Send", req) as Promise<SendReply>;
  }

  sendBatch(messages: Record<string, unknown>[]): Promise<{ results: { outbox?: { outbox_id: string }; error?: { message: string } }[] }> {
    return this.unary(this.email, "SendBatch", { messages }) as Promise<{
      results: { outbox?: { outbox_id: string }; error?: { message: string } }[];
    }>;
  }

  getOutbox(id: string): Promise<{ outbox: { status: string } }> {
    return this.unary(this.email, "GetOutbox", { outbox_id: id }) as Promise<{ outbox: { status: string } }>;
  }

  check(): Promise<unknown> {
    return this.unary(this.health, "Check", { service: "" });
  }

  watch(req: Record<string, unknown>): grpc.ClientReadableStream<WatchItem> {
    return (this.email.WatchOutbox as (r: unknown) => grpc.ClientReadableStream<WatchItem>).call(this.email, req);
  }

  close(): void {
    this.health.close();
    this.email.close();
  }

  private unary(client: grpc.Client & Record<string, unknown>, method: string, req: unknown): Promise<unknown> {
    return new Promise((resolve, reject) => {
      (client[method] as Unary).call(client, req, (err, res) => (err ? reject(err) : resolve(res)));
    });
  }
}

/** SendRequest for message parts, in the proto's field names. */
export function sendRequest(parts: { to: string; subject: string; text: string }, extra: Record<string, unknown> = {}) {
  return { account_id: 1, to: [parts.to], subject: parts.subject, body_text: parts.text, ...extra };
}
