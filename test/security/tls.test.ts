// "tls": the one port serves HTTPS, HTTP/2 and HTTP/1.1 chosen by ALPN, with the client pinning
// the server's certificate.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import https from "node:https";
import { tmpdir } from "node:os";
import path from "node:path";
import tls from "node:tls";
import { afterAll, beforeAll, expect, test } from "vitest";
import { generate } from "selfsigned";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { EmailService } from "../../gen/email/v1/email_service_pb.js";
import { OutboxStatus } from "../../gen/email/v1/outbox_pb.js";
import { startTestApp, type TestApp } from "../helpers/app.js";

let t: TestApp;
let cert: string;
let dir: string;

beforeAll(async () => {
  const pems = await generate([{ name: "commonName", value: "localhost" }], {
    keySize: 2048,
    algorithm: "sha256",
    extensions: [
      {
        name: "subjectAltName",
        altNames: [
          { type: 2, value: "localhost" },
          { type: 7, ip: "127.0.0.1" },
        ],
      },
    ],
  });
  cert = pems.cert;
  dir = mkdtempSync(path.join(tmpdir(), "eo-tls-"));
  writeFileSync(path.join(dir, "cert.pem"), pems.cert);
  writeFileSync(path.join(dir, "key.pem"), pems.private, { mode: 0o600 });
  t = await startTestApp({
    label: "tls",
    background: false,
    json: {
      accounts: [{ id: 1, from: "a@example.com", file_dir: path.join(dir, "mail") }],
      tls: { cert_file: path.join(dir, "cert.pem"), key_file: path.join(dir, "key.pem") },
    },
  });
});
afterAll(async () => {
  await t?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const send = { accountId: 1, to: ["bob@example.com"], subject: "over tls", bodyText: "x" };

test("the app's URL is https", () => {
  expect(t.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
});

test.each([
  ["gRPC over HTTP/2", () => createGrpcTransport({ baseUrl: t.url, nodeOptions: { ca: cert } })],
  ["Connect over HTTP/1.1", () => createConnectTransport({ baseUrl: t.url, httpVersion: "1.1", nodeOptions: { ca: cert } })],
  ["Connect over HTTP/2", () => createConnectTransport({ baseUrl: t.url, httpVersion: "2", nodeOptions: { ca: cert } })],
  ["gRPC-Web over HTTP/1.1", () => createGrpcWebTransport({ baseUrl: t.url, httpVersion: "1.1", nodeOptions: { ca: cert } })],
])("%s with the certificate pinned", async (_name, transport) => {
  const res = await createClient(EmailService, transport()).send(send);
  expect(res.outbox?.status).toBe(OutboxStatus.PENDING);
});

test.each([["h2"], ["http/1.1"]])("ALPN offers %s", async (protocol) => {
  const socket = tls.connect({ host: "127.0.0.1", port: t.app.port, ca: cert, servername: "localhost", ALPNProtocols: [protocol] });
  await new Promise<void>((resolve, reject) => socket.once("secureConnect", resolve).once("error", reject));
  expect(socket.alpnProtocol).toBe(protocol);
  socket.destroy();
});

test("a client that does not trust the certificate is refused the connection", async () => {
  const client = createClient(EmailService, createConnectTransport({ baseUrl: t.url, httpVersion: "1.1" }));
  await expect(client.send(send)).rejects.toThrow(/self-signed certificate/);
});

test("plain HTTP probes are served over HTTPS too", async () => {
  const body = await new Promise<string>((resolve, reject) => {
    https
      .get(`${t.url}/healthz`, { ca: cert }, (res) => {
        let text = "";
        res.on("data", (c: Buffer) => (text += c.toString())).on("end", () => resolve(text));
      })
      .on("error", reject);
  });
  expect(JSON.parse(body)).toEqual({ status: "ok" });
});
