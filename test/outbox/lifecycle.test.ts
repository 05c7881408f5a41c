// The state machine has one source of truth (src/outbox/lifecycle.ts): the README's States
// diagram, the proto's OutboxStatus comment, the event kinds and the claim index must all agree
// with its table. When one fails, the message holds the text to paste.
import { readFileSync } from "node:fs";
import { expect, test } from "vitest";
import { FINISHED, RECIPIENT_EVENTS, TRANSITIONS, requeuedStatus, stateDiagram } from "../../src/outbox/lifecycle.js";
import { EventKind, type OutboxStatus } from "../../src/outbox/types.js";
import { lastDefinitionOf } from "../helpers/migrations.js";

const read = (file: string) => readFileSync(new URL(`../../${file}`, import.meta.url), "utf8");
const STATUSES: OutboxStatus[] = ["pending", "sending", "sent", "failed", "dead", "cancelled", "suppressed", "expired"];

test("the README's States diagram is the table's", () => {
  const readme = read("README.md");
  const block = /### States\n\n```\n([\s\S]*?)```/.exec(readme)?.[1];
  expect(block, "README.md: ### States must start with a ``` block").toBeDefined();
  expect(block!.trimEnd().split("\n")).toEqual(stateDiagram());
  // …and its status table names every status.
  for (const s of STATUSES) expect(readme).toContain(`| \`${s.toUpperCase()}\` |`);
});

test("the proto's OutboxStatus comment is the table's", () => {
  const proto = read("proto/email/v1/outbox.proto");
  const comment = /\/\/ OutboxStatus is where a message stands in the outbox state machine:\n\/\/\n((?:\/\/ {3}.*\n)+)/.exec(proto)?.[1];
  expect(comment, "outbox.proto: the OutboxStatus comment must hold the diagram").toBeDefined();
  expect(
    comment!
      .trimEnd()
      .split("\n")
      .map((l) => l.replace(/^\/\/ {3}/, "")),
  ).toEqual(stateDiagram());
  for (const s of STATUSES) expect(proto).toContain(`OUTBOX_STATUS_${s.toUpperCase()} =`);
});

test("every event kind but SNAPSHOT is some transition's event or a recipient event, and each is in the proto", () => {
  const used = new Set<string>([...Object.values(TRANSITIONS).map((t) => t.event), ...Object.values(RECIPIENT_EVENTS)]);
  const kinds = Object.keys(EventKind).filter((k) => k !== "snapshot");
  expect([...used].sort()).toEqual(kinds.sort());
  const proto = read("proto/email/v1/email_service.proto");
  for (const k of kinds) {
    const name = k.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase();
    expect(proto).toContain(`OUTBOX_EVENT_KIND_${name} = ${EventKind[k as keyof typeof EventKind]};`);
  }
});

test("the claim index holds exactly the statuses a claim takes rows from, and those expiry and superseding take", () => {
  for (const column of ["due_at", "claim_at"]) {
    const [, statuses, due] =
      new RegExp(`${column} BIGINT AS \\(IF\\(status IN \\(([^)]*)\\), (.*), NULL\\)\\) STORED`).exec(lastDefinitionOf(column).sql) ?? [];
    expect(statuses!.split(",").map((s) => s.trim().replace(/'/g, ""))).toEqual([...TRANSITIONS.claim.from]);
    // A queued row is due at its expiry at the latest, so a claim finds it to expire it.
    expect(due).toMatch(/^LEAST\(.*, IFNULL\(expire_at, .*\)\)$/);
  }
  // A claim finds the rows to expire: they leave exactly the statuses it takes rows from.
  expect(TRANSITIONS.expire.from).toEqual(TRANSITIONS.claim.from);
  // Superseding leaves alone what a sender holds or finished.
  expect(TRANSITIONS.supersede.from).toEqual(TRANSITIONS.cancel.from);
});

test("structural rules of the table", () => {
  const all = Object.values(TRANSITIONS);
  // SENT, CANCELLED, SUPPRESSED and EXPIRED are terminal: nothing leaves them.
  for (const terminal of ["sent", "cancelled", "suppressed", "expired"] as const)
    for (const t of all) expect(t.from).not.toContain(terminal);
  // Retention deletes exactly the rows no sender takes again on its own.
  const queued = new Set<string>([...TRANSITIONS.claim.from, "sending"]);
  expect([...FINISHED].sort()).toEqual(STATUSES.filter((s) => !queued.has(s)).sort());
  // Every status is reachable.
  for (const s of STATUSES) expect(all.some((t) => (t.to as readonly string[]).includes(s))).toBe(true);
  // Only an attempt's outcome counts an attempt; hand-backs and rescues never do.
  for (const name of ["rescue", "release", "rescueLimit", "claim", "handOff", "retry", "expire", "supersede"] as const) {
    expect(TRANSITIONS[name].countsAttempt).toBe(false);
    expect(TRANSITIONS[name].newMessageId).toBe("no");
  }
  // Back in the queue: PENDING until an attempt has failed, FAILED after.
  expect([requeuedStatus(0), requeuedStatus(3)]).toEqual(["pending", "failed"]);
});
