// Three instances on one database share 3,000 messages: each sends a share, and no message is
// sent twice (each Message-ID reaches the SMTP server once).
import { afterAll, beforeAll, expect, test } from "vitest";
import { sinkAccount } from "../helpers/app.js";
import { emailClient } from "../helpers/clients.js";
import { notIn, openRig, outboxIdOf, sendMany, sentLogIds, serviceConfig, slowServer, until, type Rig } from "./kit.js";

const MESSAGES = 3_000;
const INSTANCES = 3;

let rig: Rig;

beforeAll(async () => {
  rig = await openRig("fault_instances", { script: slowServer(1, 5) });
});
afterAll(async () => {
  await rig?.close();
});

test(`${INSTANCES} instances on one database: every message once, and each instance sends a share`, async () => {
  const { sink, reader } = rig;
  const config = serviceConfig([sinkAccount(1, sink.port, { max_connections: 4 })], { lease_ms: 60_000 });
  // All start at once on a database that does not exist yet: they race to create and migrate it.
  await Promise.all(Array.from({ length: INSTANCES }, () => rig.start(config)));
  const instances = rig.services;

  // Clients spread their requests over the instances; every instance also claims the others' rows.
  const share = Math.floor(MESSAGES / INSTANCES);
  const ids = (
    await Promise.all(
      instances.map((p, i) => sendMany(emailClient(p.url), i === 0 ? MESSAGES - share * (INSTANCES - 1) : share, 16, `i${i}`)),
    )
  ).flat();
  expect(new Set(ids).size).toBe(MESSAGES);

  await until(async () => expect(await reader.statusCounts()).toEqual({ sent: MESSAGES }), 120_000, 250);
  expect(notIn(await reader.rows(), "sent")).toEqual([]);

  const messageIds = sink.messages.map((m) => m.messageId);
  expect(messageIds).toHaveLength(MESSAGES);
  expect(new Set(messageIds).size).toBe(MESSAGES);
  expect(new Set(sink.messages.map(outboxIdOf))).toEqual(new Set(ids));

  // Each instance logged its own sends; together they are every message, each once.
  const perInstance = instances.map(sentLogIds);
  for (const sent of perInstance) expect(sent.length).toBeGreaterThan(0);
  const all = perInstance.flat();
  expect(all).toHaveLength(MESSAGES);
  expect(new Set(all)).toEqual(new Set(ids));
  // The database stayed up: a failed claim or finalize could only be the instances' transactions
  // blocking each other (lock waits, deadlocks).
  const dbErrors = instances.flatMap((p) => p.logs.filter((l) => l.msg === "claim failed" || l.msg === "finalize failed; will retry"));
  console.log(
    `instances: ${MESSAGES} sent once each; per instance ${perInstance.map((s) => s.length).join(" / ")}; ` +
      `failed claims/finalizes ${dbErrors.length}`,
  );
  expect(dbErrors).toEqual([]);
});
