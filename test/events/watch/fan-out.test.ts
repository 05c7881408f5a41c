// One event, many streams: gRPC streams are served by the framed fast path (each event encoded
// once), the other protocols by the router; every stream gets the same events in the same order,
// and the fast path keeps the router's rules (keys, scopes, metrics).
import { afterAll, beforeAll, expect, test } from "vitest";
import http2 from "node:http2";
import { OutboxStatus } from "../../../gen/email/v1/outbox_pb.js";
import { EmailService } from "../../../gen/email/v1/email_service_pb.js";
import { sinkAccount, startTestApp, type TestApp } from "../../helpers/app.js";
import { startSmtpSink, type SmtpSink } from "../../helpers/smtp-sink.js";
import { keyedClient } from "../../security/keys.js";
import { streamsLive, subscribersReach, watch, type Watcher } from "../../helpers/watch.js";

let sink: SmtpSink;
let t: TestApp;

beforeAll(async () => {
  sink = await startSmtpSink();
  t = await startTestApp({ label: "watch_fan_out", json: { accounts: [sinkAccount(1, sink.port)] } });
});
afterAll(async () => {
  await t?.close();
  await sink?.close();
});

const STREAMS = 60;

test(`${STREAMS} streams over gRPC, gRPC-Web and Connect each get every event of a send, once, in order`, async () => {
  const transports = [
    "grpc-js",
    "connect-node gRPC (HTTP/2)",
    "connect-node gRPC-Web (HTTP/2)",
    "connect-node Connect (HTTP/1.1)",
  ] as const;
  const watchers: Watcher[] = Array.from({ length: STREAMS }, (_, i) => watch(t.url, transports[i % transports.length]!, { accountId: 1 }));
  await subscribersReach(t.app, STREAMS);
  await streamsLive(watchers);
  const client = keyedClient(EmailService, t.url, undefined, "gRPC");
  const ids: number[] = [];
  for (let i = 0; i < 3; i++)
    ids.push(Number((await client.send({ accountId: 1, to: ["bob@example.com"], subject: `f${i}`, bodyText: "b" })).outbox!.outboxId));
  for (const w of watchers) {
    await w.until((x) => ids.every((id) => x.events().some((e) => e.outboxId === id && e.status === OutboxStatus.SENT)));
  }
  const reference = JSON.stringify(watchers[0]!.events());
  for (const w of watchers) expect(JSON.stringify(w.events())).toBe(reference);
  // CREATED, SENDING and SENT of each row, in that order.
  for (const id of ids) {
    expect(
      watchers[0]!
        .events()
        .filter((e) => e.outboxId === id)
        .map((e) => e.status),
    ).toEqual([OutboxStatus.PENDING, OutboxStatus.SENDING, OutboxStatus.SENT]);
  }
  for (const w of watchers) w.cancel();
  await subscribersReach(t.app, 0);
});

test("request bytes that are no WatchOutboxRequest end the gRPC stream with INVALID_ARGUMENT", async () => {
  const session = http2.connect(t.url);
  try {
    const stream = session.request({
      ":method": "POST",
      ":path": "/email.v1.EmailService/WatchOutbox",
      "content-type": "application/grpc",
      te: "trailers",
    });
    const trailers = new Promise<http2.IncomingHttpHeaders>((resolve) => stream.once("trailers", resolve));
    stream.resume();
    // A length-delimited field 1 claiming 100 bytes that never come.
    stream.end(Buffer.from([0, 0, 0, 0, 2, 0x0a, 100]));
    const t2 = await trailers;
    expect(t2["grpc-status"]).toBe("3");
    expect(t2["grpc-status-details-bin"]).toBeDefined();
    expect(decodeURIComponent(String(t2["grpc-message"]))).toBe("the request is not a valid WatchOutboxRequest");
  } finally {
    session.close();
  }
});
