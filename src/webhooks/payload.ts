// What a webhook request carries: a Standard Webhooks envelope ({type, timestamp, data}) whose
// data is the event exactly as WatchOutbox streams it (OutboxEvent as proto JSON, event_id included).
import { toJsonString } from "@bufbuild/protobuf";
import { OutboxEventSchema } from "../../gen/email/v1/email_service_pb.js";
import { toProtoEvent } from "../handlers/mapping.js";
import { EventKind, type EventRow } from "../outbox/types.js";

/** Event kinds by the names the config and the `type` field use. */
const KIND_NAMES = {
  created: EventKind.created,
  scheduled: EventKind.scheduled,
  sending: EventKind.sending,
  sent: EventKind.sent,
  failed: EventKind.failed,
  dead: EventKind.dead,
  cancelled: EventKind.cancelled,
  lease_rescued: EventKind.leaseRescued,
  retried: EventKind.retried,
  released: EventKind.released,
} as const;
export type EventName = keyof typeof KIND_NAMES;
export const EVENT_NAMES = Object.keys(KIND_NAMES) as EventName[];
const NAME_OF = new Map<number, EventName>(EVENT_NAMES.map((n) => [KIND_NAMES[n], n]));

export function eventName(kind: number): EventName | undefined {
  return NAME_OF.get(kind);
}

/** The `webhook-id`: the same for every attempt of one event, so receivers can de-duplicate. */
export function webhookId(eventId: number): string {
  return `evt_${eventId}`;
}

export function webhookBody(event: EventRow): string {
  const data = toJsonString(OutboxEventSchema, toProtoEvent(event));
  const type = `outbox.${eventName(event.kind) ?? "unknown"}`;
  return `{"type":${JSON.stringify(type)},"timestamp":${JSON.stringify(new Date(event.createdAt).toISOString())},"data":${data}}`;
}
