// The figures in docs/security.md › Before the body (a measurement, not a test; run it with
// `npx tsx test/security/memory-probe.ts`): eight concurrent 47 MiB gRPC Sends against a service
// process, first without a key, then with one; prints RSS before and after, the peak (VmHWM),
// the service's CPU time and each call's status.
import http2 from "node:http2";
import { readFileSync } from "node:fs";
import { create, toBinary } from "@bufbuild/protobuf";
import { SendRequestSchema } from "../../gen/email/v1/email_service_pb.js";
import { startServiceProcess } from "../helpers/service-process.js";
import { createTestDatabase } from "../helpers/db.js";
import { testKey } from "./keys.js";

const key = testKey("k", "*");
const db = await createTestDatabase("rss_probe");
const svc = await startServiceProcess({
  databaseUrl: db.url,
  config: { api_keys: [key.entry], accounts: [{ id: 1, from: "a@example.com", file_dir: "/tmp/rss/out" }] },
});
const pid = svc.child.pid!;
const mem = () => {
  const s = readFileSync(`/proc/${pid}/status`, "utf8");
  return { rss: Number(/VmRSS:\s+(\d+)/.exec(s)![1]) >> 10, hwm: Number(/VmHWM:\s+(\d+)/.exec(s)![1]) >> 10 };
};
const cpu = () => {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(f[11]) + Number(f[12])) / 100;
};
// A well-formed Send of about 47 MiB (its attachment is over the 25 MiB limit, so with a key it
// is read, decoded and then refused by validation; it writes nothing).
function frame(): Buffer {
  const msg = toBinary(
    SendRequestSchema,
    create(SendRequestSchema, {
      accountId: 1,
      to: ["bob@example.com"],
      subject: "s",
      bodyText: "b",
      attachments: [{ filename: "a.zip", contentType: "application/zip", content: Buffer.alloc(47 * 1024 * 1024 - 256, 0x41) }],
    }),
  );
  const head = Buffer.alloc(5);
  head.writeUInt32BE(msg.length, 1);
  return Buffer.concat([head, msg]);
}
const body = frame();
async function round(auth: boolean) {
  const before = mem();
  const c0 = cpu();
  const results = await Promise.all(
    Array.from(
      { length: 8 },
      () =>
        new Promise<string>((resolve) => {
          const s = http2.connect(svc.url, { maxSessionMemory: 1000 });
          s.on("error", (e) => resolve(`session error ${e.message}`));
          const st = s.request({
            ":method": "POST",
            ":path": "/email.v1.EmailService/Send",
            "content-type": "application/grpc+proto",
            te: "trailers",
            ...(auth ? { authorization: `Bearer ${key.key}` } : {}),
          });
          let status = "";
          // As grpc-js does: the status ends the call, whether or not the body was all sent.
          const done = (h: http2.IncomingHttpHeaders) => {
            status = `${h["grpc-status"]} ${decodeURIComponent(String(h["grpc-message"]))}`;
            s.destroy();
            resolve(status);
          };
          st.on("response", (h) => {
            if (h["grpc-status"]) done(h);
          });
          st.on("trailers", done);
          st.on("data", () => undefined);
          st.on("error", (e) => resolve(`stream error ${e.message}`));
          st.on("close", () => {
            s.destroy();
            resolve(status);
          });
          st.end(body);
        }),
    ),
  );
  const after = mem();
  console.log(
    JSON.stringify({ auth, rssBefore: before.rss, rssAfter: after.rss, peakHWM: after.hwm, cpuSeconds: +(cpu() - c0).toFixed(2), results }),
  );
}
await round(false);
await round(true);
svc.kill("SIGTERM");
await svc.exited;
await db.drop();
