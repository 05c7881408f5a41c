// Bounce reasons between the taxonomy's names ("user_unknown") and the proto enum (USER_UNKNOWN):
// the same list, checked by test/inbound/bounces/reasons.test.ts.
import { BounceReason as ProtoReason } from "../../../gen/email/v1/outbox_pb.js";
import { isBounceReason, type BounceReason } from "../../message/bounce-reasons.js";

/** UNSPECIFIED for none (a report stored before reasons were recorded). */
export function toProtoReason(reason: BounceReason | null): ProtoReason {
  return reason === null ? ProtoReason.UNSPECIFIED : ProtoReason[reason.toUpperCase() as keyof typeof ProtoReason];
}

/** null for UNSPECIFIED ("none", as a filter), undefined for a number the enum does not have. */
export function fromProtoReason(value: ProtoReason): BounceReason | null | undefined {
  if (value === ProtoReason.UNSPECIFIED) return null;
  const name = ProtoReason[value]?.toLowerCase();
  return name !== undefined && isBounceReason(name) ? name : undefined;
}
