import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../../../gen/grpc/health/v1/health_pb.js";
import { createHealth, type HealthService } from "../../../src/api/standard/health.js";
import { startServer, type TestServer } from "./server.js";

let server: TestServer;
let health: HealthService;
let client: Client<typeof Health>;

beforeEach(async () => {
  health = createHealth();
  server = await startServer((router) => health.register(router));
  client = createClient(Health, createGrpcTransport({ baseUrl: server.url }));
});
afterEach(() => server.close());

function watch(service: string, signal?: AbortSignal) {
  return client.watch({ service }, { signal })[Symbol.asyncIterator]();
}

describe("Check", () => {
  it("reports the whole server as SERVING", async () => {
    expect((await client.check({ service: "" })).status).toBe(Status.SERVING);
  });

  it("answers NOT_FOUND for an unknown service", async () => {
    const err = await client.check({ service: "email.v1.Nope" }).catch((e: unknown) => e);
    expect(ConnectError.from(err).code).toBe(Code.NotFound);
  });

  it("reports a service once it is set", async () => {
    health.set("email.v1.EmailService", Status.NOT_SERVING);
    expect((await client.check({ service: "email.v1.EmailService" })).status).toBe(Status.NOT_SERVING);
    health.setAll(Status.SERVING);
    expect((await client.check({ service: "email.v1.EmailService" })).status).toBe(Status.SERVING);
  });
});

describe("Watch", () => {
  it("streams the current status, then each change", async () => {
    const stream = watch("");
    expect((await stream.next()).value?.status).toBe(Status.SERVING);
    health.set("", Status.NOT_SERVING);
    expect((await stream.next()).value?.status).toBe(Status.NOT_SERVING);
    await stream.return?.();
  });

  it("reports SERVICE_UNKNOWN until the service is set", async () => {
    const stream = watch("email.v1.EmailService");
    expect((await stream.next()).value?.status).toBe(Status.SERVICE_UNKNOWN);
    health.set("email.v1.EmailService", Status.SERVING);
    expect((await stream.next()).value?.status).toBe(Status.SERVING);
    await stream.return?.();
  });

  it("leaves no listener behind when the client cancels", async () => {
    const abort = new AbortController();
    const stream = watch("", abort.signal);
    await stream.next();
    expect(health.listenerCount()).toBe(1);
    abort.abort();
    await expect(stream.next()).rejects.toMatchObject({ code: Code.Canceled });
    await vi.waitFor(() => expect(health.listenerCount()).toBe(0), { timeout: 5_000, interval: 10 });
  });

  it("ends every stream with NOT_SERVING on shutdown and ignores later changes", async () => {
    health.set("email.v1.EmailService", Status.SERVING);
    const streams = [watch(""), watch("email.v1.EmailService")];
    await Promise.all(streams.map((s) => s.next()));
    health.shutdown();
    for (const s of streams) {
      expect((await s.next()).value?.status).toBe(Status.NOT_SERVING);
      expect((await s.next()).done).toBe(true);
    }
    expect(health.listenerCount()).toBe(0);
    health.set("", Status.SERVING);
    expect((await client.check({ service: "" })).status).toBe(Status.NOT_SERVING);
  });
});
