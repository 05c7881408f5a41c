// What a webhook request carries: a Standard Webhooks envelope ({type, timestamp, data}) whose
// data is the event exactly as WatchOutbox streams it (OutboxEvent as proto JSON, event_id included).
import { toJsonString } from "@bufbuild/protobuf";
import { OutboxEventSchema } from "../../../gen/email/v1/email_service_pb.js";
import { toProtoEvent } from "../../api/handlers/mapping.js";
import { EventKind, type EventRow } from "../../outbox/types.js";

/** Event kinds by the names the config and the `type` field use: EventKind's, in snake_case. */
export type EventName = string;
const NAME_OF = new Map<number, EventName>(
  Object.entries(EventKind).map(([key, kind]) => [kind, key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)]),
);
export const EVENT_NAMES: readonly EventName[] = [...NAME_OF.values()];

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
