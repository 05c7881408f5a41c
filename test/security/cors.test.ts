// "cors": preflights answered, Connect and gRPC-Web headers allowed and exposed, and only for the
// configured origins (none by default).
import http from "node:http";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startTestApp, type TestApp } from "../helpers/app.js";

const ALLOWED = "https://app.example.com";
const OTHER = "https://evil.example.net";
const account = { id: 1, from: "a@example.com", file_dir: "/tmp/eo-cors" };

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
}

function request(url: string, method: string, headers: Record<string, string>, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${url}/email.v1.EmailService/ListOutbox`, { method, headers }, (res) => {
      res.resume().on("end", () => resolve({ status: res.statusCode!, headers: res.headers }));
    });
    req.on("error", reject).end(body);
  });
}

const preflight = (url: string, origin: string) =>
  request(url, "OPTIONS", {
    origin,
    "access-control-request-method": "POST",
    "access-control-request-headers": "authorization,content-type,connect-protocol-version",
  });
const post = (url: string, origin: string) =>
  request(url, "POST", { origin, "content-type": "application/json", "connect-protocol-version": "1" }, "{}");
const grpcWebPost = (url: string, origin: string) =>
  request(url, "POST", { origin, "content-type": "application/grpc-web+proto", "x-grpc-web": "1" }, "\x00\x00\x00\x00\x00");

const list = (value: string | string[] | undefined) =>
  String(value ?? "")
    .toLowerCase()
    .split(/,\s*/);

describe("with allowed_origins", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ label: "cors", background: false, json: { accounts: [account], cors: { allowed_origins: [ALLOWED] } } });
  });
  afterAll(() => t?.close());

  test("a preflight from an allowed origin is answered with the Connect and gRPC-Web headers", async () => {
    const res = await preflight(t.url, ALLOWED);
    expect(res.status).toBe(204);
    expect(res.headers["access-control-allow-origin"]).toBe(ALLOWED);
    expect(list(res.headers["access-control-allow-methods"])).toEqual(expect.arrayContaining(["post", "get"]));
    expect(list(res.headers["access-control-allow-headers"])).toEqual(
      expect.arrayContaining([
        "authorization",
        "content-type",
        "connect-protocol-version",
        "connect-timeout-ms",
        "x-grpc-web",
        "x-user-agent",
        "grpc-timeout",
      ]),
    );
    expect(res.headers["access-control-max-age"]).toBe("7200");
    expect(res.headers.vary).toBe("Origin");
  });

  test("a preflight from another origin gets no permission", async () => {
    const res = await preflight(t.url, OTHER);
    expect(res.status).toBe(204);
    expect(res.headers["access-control-allow-origin"]).toBeUndefined();
    expect(res.headers["access-control-allow-headers"]).toBeUndefined();
  });

  test("a Connect call from an allowed origin exposes the status headers", async () => {
    const res = await post(t.url, ALLOWED);
    expect(res.status).toBe(200);
    expect(res.headers["access-control-allow-origin"]).toBe(ALLOWED);
    expect(list(res.headers["access-control-expose-headers"])).toEqual(
      expect.arrayContaining(["grpc-status", "grpc-message", "grpc-status-details-bin"]),
    );
  });

  test("a gRPC-Web call from an allowed origin can read grpc-status", async () => {
    const res = await grpcWebPost(t.url, ALLOWED);
    expect(res.status).toBe(200);
    expect(res.headers["access-control-allow-origin"]).toBe(ALLOWED);
    expect(list(res.headers["access-control-expose-headers"])).toContain("grpc-status");
  });

  test("a call from another origin carries no CORS permission", async () => {
    const res = await post(t.url, OTHER);
    expect(res.headers["access-control-allow-origin"]).toBeUndefined();
    expect(res.headers["access-control-expose-headers"]).toBeUndefined();
  });
});

describe("by default", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ label: "cors_default", background: false, json: { accounts: [account] } });
  });
  afterAll(() => t?.close());

  test("no origin is allowed", async () => {
    const pre = await preflight(t.url, ALLOWED);
    expect(pre.status).toBe(204);
    expect(pre.headers["access-control-allow-origin"]).toBeUndefined();
    const res = await post(t.url, ALLOWED);
    expect(res.status).toBe(200);
    expect(res.headers["access-control-allow-origin"]).toBeUndefined();
  });
});
