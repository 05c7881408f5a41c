// The bounce taxonomy has one source of truth (src/message/bounce-reasons.ts): the proto's BounceReason
// enum, each value's comment on its default class, the generated enum the handlers map through,
// and docs/inbound.md's table must all agree with it.
import { readFileSync } from "node:fs";
import { expect, test } from "vitest";
import { BounceReason } from "../../../gen/email/v1/outbox_pb.js";
import { BOUNCE_REASONS, DEFAULT_REASON_CLASS, type ReasonClass } from "../../../src/message/bounce-reasons.js";
import { bounceReasonName, defaultReasonClass } from "../../../src/client/reasons.js";
import { fromProtoReason, toProtoReason } from "../../../src/api/handlers/reason-mapping.js";

const read = (file: string) => readFileSync(new URL(`../../../${file}`, import.meta.url), "utf8");

/** How the proto comments and docs/inbound.md say what a class does. */
const PROTO_WORDS: Record<ReasonClass, string> = {
  suppress: "By default the address is suppressed at once.",
  soft: "By default it counts toward the soft-bounce limit.",
  sender: "By default it never suppresses: a sender-side refusal.",
};
const README_WORDS: Record<ReasonClass, string> = { suppress: "suppresses at once", soft: "counts as soft", sender: "never (sender-side)" };

test("the proto's BounceReason lists the taxonomy in order, each value's comment saying its default class", () => {
  const block = /\nenum BounceReason \{\n([\s\S]*?)\n\}/.exec(read("proto/email/v1/outbox.proto"))?.[1];
  expect(block, "outbox.proto: enum BounceReason").toBeDefined();
  const values = [...block!.matchAll(/((?: {2}\/\/ .*\n)+) {2}BOUNCE_REASON_([A-Z_]+) = (\d+);/g)].map(([, comment, name, n]) => ({
    comment: comment!.replace(/\s*\/\/ /g, " ").trim(),
    name: name!.toLowerCase(),
    n: Number(n),
  }));
  expect(values[0]).toMatchObject({ name: "unspecified", n: 0 });
  const reasons = values.slice(1);
  expect(reasons.map((v) => v.name)).toEqual([...BOUNCE_REASONS]);
  expect(reasons.map((v) => v.n)).toEqual(BOUNCE_REASONS.map((_, i) => i + 1));
  for (const v of reasons) {
    expect(v.comment, `BOUNCE_REASON_${v.name.toUpperCase()}`).toContain(
      PROTO_WORDS[DEFAULT_REASON_CLASS[v.name as keyof typeof DEFAULT_REASON_CLASS]],
    );
  }
});

test("the generated enum maps both ways, UNSPECIFIED being no reason; the client reads names and default classes", () => {
  for (const reason of BOUNCE_REASONS) {
    const value = toProtoReason(reason);
    expect(value).not.toBe(BounceReason.UNSPECIFIED);
    expect(fromProtoReason(value)).toBe(reason);
    expect(bounceReasonName(value)).toBe(reason);
    expect(defaultReasonClass(value)).toBe(DEFAULT_REASON_CLASS[reason]);
  }
  expect(toProtoReason(null)).toBe(BounceReason.UNSPECIFIED);
  expect(fromProtoReason(BounceReason.UNSPECIFIED)).toBeNull();
  expect(fromProtoReason(999 as BounceReason)).toBeUndefined();
  expect(bounceReasonName(BounceReason.UNSPECIFIED)).toBe("");
  expect(defaultReasonClass(BounceReason.UNSPECIFIED)).toBeUndefined();
});

test("docs/inbound.md's taxonomy table is the taxonomy, with each reason's default class", () => {
  const rows = [...read("docs/inbound.md").matchAll(/^\| `([a-z_]+)` \| [^|]+ \| ([^|]+) \|$/gm)]
    .filter(([, name]) => (BOUNCE_REASONS as readonly string[]).includes(name!))
    .map(([, name, cls]) => [name, cls!.trim()]);
  expect(rows).toEqual(BOUNCE_REASONS.map((r) => [r, README_WORDS[DEFAULT_REASON_CLASS[r]]]));
});
