// Database outage: the service reaches MariaDB through a proxy that is cut for 10 s while clients
// keep sending. Send answers UNAVAILABLE meanwhile, the sender backs off, and afterwards everything
// resumes in the same process: every committed row is sent, none twice, none stuck.
import { setTimeout as delay } from "node:timers/promises";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, expect, test } from "vitest";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { sinkAccount } from "../helpers/app.js";
import { emailClient } from "../helpers/clients.js";
import { refusal } from "../helpers/refusal.js";
import type { ServiceProcess } from "../helpers/service-process.js";
import { byOutboxId, notIn, openRig, serviceConfig, slowServer, until, type Rig } from "./kit.js";
import { TcpProxy } from "./tcp-proxy.js";

const OUTAGE_MS = 10_000;
/** Longer than the outage, so no attempt under way at the cut needs rescuing. */
const LEASE_MS = 60_000;
const POLL_MS = 250;
/** Messages sent once the database is back before the producers stop. */
const AFTER = 200;

let rig: Rig;
let proxy: TcpProxy;
let service: ServiceProcess;

beforeAll(async () => {
  rig = await openRig("fault_outage", { script: slowServer(1, 5) });
  const direct = new URL(rig.db.url);
  proxy = await TcpProxy.start(direct.hostname, Number(direct.port || 3306));
  const proxied = new URL(rig.db.url);
  proxied.port = String(proxy.port);
  service = await rig.start(serviceConfig([sinkAccount(1, rig.sink.port)], { lease_ms: LEASE_MS, poll_interval_ms: POLL_MS }), {
    databaseUrl: proxied.toString(),
  });
});
afterAll(async () => {
  await rig?.close();
  await proxy?.close();
});

function reasonOf(err: ConnectError): string | undefined {
  return err.findDetails(ErrorInfoSchema)[0]?.reason;
}

test("a 10 s database outage: UNAVAILABLE meanwhile, then everything resumes in the same process", async () => {
  const { sink, reader } = rig;
  const client = emailClient(service.url);
  let phase: "before" | "during" | "after" = "before";
  let next = 0;
  let sentAfter = 0;
  const accepted = new Set<number>();
  const unavailable: string[] = [];
  const unexpected: string[] = [];

  // Producers, each sending one message at a time with an idempotency key and retrying it while
  // the service answers UNAVAILABLE, as a client should.
  const producer = async () => {
    while (!(phase === "after" && sentAfter >= AFTER)) {
      const i = next++;
      for (;;) {
        try {
          const res = await client.send({
            accountId: 1,
            to: ["bob@example.com"],
            subject: `outage ${i}`,
            bodyText: "b",
            idempotencyKey: `outage-${i}`,
          });
          accepted.add(Number(res.outbox!.outboxId));
          if (phase === "after") sentAfter++;
          break;
        } catch (e) {
          const err = ConnectError.from(e);
          if (err.code !== Code.Unavailable) {
            unexpected.push(`${Code[err.code]}: ${err.rawMessage}`);
            return;
          }
          unavailable.push(reasonOf(err) ?? "(no reason)");
          await delay(100); // the client's retry pace
        }
      }
    }
  };
  const producers = Promise.all(Array.from({ length: 4 }, producer));

  await until(() => expect(sink.messages.length).toBeGreaterThanOrEqual(100), 60_000);
  await proxy.cut();
  phase = "during";
  const cutAt = service.logs.length;
  const probe = await refusal(client.send({ accountId: 1, to: ["bob@example.com"], subject: "probe", bodyText: "b" }));
  expect(probe).toMatchObject({ code: Code.Unavailable, reason: "DATABASE_UNAVAILABLE" });
  await delay(OUTAGE_MS); // the outage itself
  const outageLogs = service.logs.slice(cutAt);
  await proxy.restore();
  phase = "after";
  await producers;

  expect(unexpected).toEqual([]);
  expect(unavailable.length).toBeGreaterThan(0);
  expect(new Set(unavailable)).toEqual(new Set(["DATABASE_UNAVAILABLE"]));

  // The sender noticed and waited for its next poll rather than spinning.
  const claimFailures = outageLogs.filter((l) => l.msg === "claim failed").length;
  expect(claimFailures).toBeGreaterThan(0);
  expect(claimFailures).toBeLessThan((OUTAGE_MS / POLL_MS) * 3);

  // Everything committed goes out, from the same process. A claim whose COMMIT reached the
  // server but whose acknowledgement was cut is unknown to the sender: those rows wait for their
  // lease to expire and the rescuer, so allow a lease and a rescue interval on top.
  await until(async () => expect(notIn(await reader.rows(), "sent")).toEqual([]), LEASE_MS + 30_000, 250);
  expect(service.child.exitCode).toBeNull();
  const rows = await reader.rows();
  // One row per message: a Send cut off after its commit was replayed by its key, not doubled.
  expect(rows.map((r) => r.id)).toEqual([...accepted].sort((a, b) => a - b));
  const received = byOutboxId(sink.messages);
  expect([...received.keys()].sort((a, b) => a - b)).toEqual(rows.map((r) => r.id));
  // The lease outlasted the outage, so outcomes held during it were written, not re-sent.
  expect([...received.values()].filter((copies) => copies.length > 1)).toEqual([]);

  console.log(
    `db outage: ${rows.length} sent, ${unavailable.length} UNAVAILABLE answers retried, ` +
      `${claimFailures} failed claims during ${OUTAGE_MS} ms, ` +
      `${outageLogs.filter((l) => l.msg === "finalize failed; will retry").length} delayed finalizes`,
  );
});
