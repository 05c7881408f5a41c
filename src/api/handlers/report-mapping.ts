// Bounce, complaint and suppression records -> proto messages.
import { create } from "@bufbuild/protobuf";
import {
  DeliveryReportSchema,
  SuppressionReason,
  SuppressionSchema,
  type DeliveryReport,
  type Suppression,
} from "../../../gen/email/v1/mailbox_service_pb.js";
import { RecipientReportSchema, RecipientState, type RecipientReport } from "../../../gen/email/v1/outbox_pb.js";
import type { Applied } from "../../inbound/bounces/apply.js";
import type { StoredRecipient } from "../../inbound/bounces/recipients.js";
import type { RecipientOutcome } from "../../inbound/bounces/report.js";
import type { Suppression as Stored, SuppressionReason as Reason } from "../../outbox/suppression.js";
import { time } from "./mapping.js";
import { toProtoReason } from "./reason-mapping.js";

const STATE: Record<RecipientOutcome["state"], RecipientState> = {
  bounced: RecipientState.BOUNCED,
  delayed: RecipientState.DELAYED,
  complained: RecipientState.COMPLAINED,
};

export const SUPPRESSION_REASON: Record<Reason, SuppressionReason> = {
  hard_bounce: SuppressionReason.HARD_BOUNCE,
  complaint: SuppressionReason.COMPLAINT,
  soft_bounces: SuppressionReason.SOFT_BOUNCES,
  manual: SuppressionReason.MANUAL,
};

export function toProtoRecipient(r: StoredRecipient): RecipientReport {
  return create(RecipientReportSchema, {
    address: r.address,
    state: STATE[r.state],
    statusCode: r.status,
    diagnostic: r.diagnostic,
    updateTime: time(r.updatedAt),
    reason: toProtoReason(r.reason),
    replyCode: r.replyCode,
  });
}

export function toProtoReport(a: Applied): DeliveryReport {
  return create(DeliveryReportSchema, {
    outboxId: BigInt(a.outboxId),
    recipients: a.recipients.map(toProtoRecipient),
    suppressed: a.suppressed,
  });
}

export function toProtoSuppression(s: Stored): Suppression {
  return create(SuppressionSchema, {
    accountId: s.accountId,
    address: s.address,
    reason: SUPPRESSION_REASON[s.reason],
    outboxId: BigInt(s.outboxId ?? 0),
    detail: s.detail,
    createTime: time(s.createdAt),
    bounceReason: toProtoReason(s.bounceReason),
  });
}
