// Maintenance once per fleet: of three instances on one database only the holder of the
// maintenance lease rescues expired leases (and prunes, and applies retention); when it is killed
// with SIGKILL another instance takes the lock within seconds and rescues from then on.
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import mysql from "mysql2/promise";
import { afterAll, beforeAll, expect, test } from "vitest";
import { sinkAccount } from "../helpers/app.js";
import { emailClient } from "../helpers/clients.js";
import type { ServiceProcess } from "../helpers/service-process.js";
import { openRig, serviceConfig, until, type Rig } from "./kit.js";

const INSTANCES = 3;
/** Rescue passes every lease / 4. */
const LEASE_MS = 2_000;
let rig: Rig;
let db: mysql.Connection;

beforeAll(async () => {
  rig = await openRig("fault_maintenance");
});
afterAll(async () => {
  await db?.end();
  await rig?.close();
});

const took = (p: ServiceProcess) => p.logs.some((l) => typeof l.msg === "string" && l.msg.startsWith("maintenance lease taken"));
const rescues = (p: ServiceProcess) => p.logs.filter((l) => l.msg === "rescued rows whose lease expired").length;

/** A row left SENDING under a lease that ran out (its sender is gone); resolves once it is rescued. */
async function strandedRow(via: ServiceProcess): Promise<number> {
  const { outbox } = await emailClient(via.url).send({
    accountId: 1,
    to: ["bob@example.com"],
    subject: "stranded",
    bodyText: "b",
    sendAt: timestampFromMs(Date.now() + 3_600_000),
  });
  const id = Number(outbox!.outboxId);
  await db.query("UPDATE outbox SET status = 'sending', lease_token = 1, lease_owner = 'gone', lease_expires_at = 0 WHERE id = ?", [id]);
  await until(
    async () => {
      const [rows] = (await db.query("SELECT status FROM outbox WHERE id = ?", [id])) as unknown as [{ status: string }[]];
      expect(rows[0]!.status).not.toBe("sending");
    },
    20_000,
    100,
  );
  return id;
}

test(`${INSTANCES} instances: one runs maintenance; after a SIGKILL of it another takes over within seconds`, async () => {
  const config = serviceConfig([sinkAccount(1, rig.sink.port)], { lease_ms: LEASE_MS });
  for (let i = 0; i < INSTANCES; i++) await rig.start(config);
  db = await mysql.createConnection({ uri: rig.db.url });
  const instances = rig.services;
  await until(() => expect(instances.filter(took)).toHaveLength(1), 20_000);
  const holder = instances.find(took)!;

  await strandedRow(instances.find((p) => p !== holder)!);
  // The rescuer logs after its commit, and the line crosses a pipe: wait for it, not for the row.
  await until(() => expect(instances.map(rescues)).toEqual(instances.map((p) => (p === holder ? 1 : 0))), 5_000);

  holder.kill("SIGKILL");
  await holder.exited;
  const killedAt = Date.now();
  const rest = instances.filter((p) => p !== holder);
  await until(() => expect(rest.filter(took)).toHaveLength(1), 20_000);
  const takeover = Date.now() - killedAt;
  const next = rest.find(took)!;
  await strandedRow(rest.find((p) => p !== next)!);
  await until(() => expect(rest.map(rescues)).toEqual(rest.map((p) => (p === next ? 1 : 0))), 5_000);
  console.log(`maintenance: lease taken over ${takeover} ms after the holder was killed`);
});
