// email.v1.WebhookService: an endpoint's recent deliveries, and re-driving them by event id.
// The key must cover the endpoint's account (scopes: read to list, retry to redeliver).
import { Code, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import { WebhookDeliveryStatus, type WebhookService } from "../../../gen/email/v1/webhook_service_pb.js";
import { accountFilter, authorize } from "../auth/authorize.js";
import type { Clock } from "../../db/clock.js";
import type { Config } from "../../config/config.js";
import type { Pool } from "../../db/pool.js";
import { endpointStates, listDeliveries, oldestOpen, redeliver, type Delivery, type EndpointKey } from "../../outbox/webhook-deliveries.js";
import { apiError, invalidArgument } from "./errors.js";
import { time } from "./mapping.js";
import { pageSize } from "./page-token.js";

/** Event ids one RedeliverWebhooks may name: a bounded UPDATE. */
const MAX_RANGE = 10_000;

const STATUS: Record<Delivery["status"], WebhookDeliveryStatus> = {
  waiting: WebhookDeliveryStatus.WAITING,
  pending: WebhookDeliveryStatus.PENDING,
  delivering: WebhookDeliveryStatus.DELIVERING,
  delivered: WebhookDeliveryStatus.DELIVERED,
  failed: WebhookDeliveryStatus.FAILED,
};

export interface WebhookDeps {
  config: () => Config;
  pool: Pool;
  clock: Clock;
  /** Makes the dispatcher look at once (a redelivery is due now). */
  wake: () => void;
}

export function webhookServiceHandlers(deps: WebhookDeps): ServiceImpl<typeof WebhookService> {
  /** The configured endpoint, after the key's account check; NOT_FOUND otherwise. */
  const endpoint = (ctx: HandlerContext, accountId: number, endpointId: string): EndpointKey => {
    authorize(ctx, accountId);
    const found = deps
      .config()
      .accounts.get(accountId)
      ?.webhooks.some((w) => w.id === endpointId);
    if (!found) {
      throw apiError(Code.NotFound, "WEBHOOK_NOT_FOUND", "no such webhook endpoint for this account", {
        account_id: String(accountId),
        endpoint_id: endpointId.slice(0, 64),
      });
    }
    return { accountId, endpointId };
  };
  return {
    async listWebhookEndpoints(req, ctx) {
      const allowed = accountFilter(ctx, req.accountId);
      const accounts = [...deps.config().accounts.values()].filter((a) => !allowed || allowed.includes(a.id)).sort((a, b) => a.id - b.id);
      const hooks = accounts.flatMap((a) =>
        [...a.webhooks].sort((x, y) => (x.id < y.id ? -1 : 1)).map((w) => ({ accountId: a.id, endpointId: w.id, w })),
      );
      if (hooks.length === 0) return { endpoints: [] };
      const [states, oldest] = await Promise.all([endpointStates(deps.pool), oldestOpen(deps.pool, hooks)]);
      return {
        endpoints: hooks.map(({ accountId, endpointId, w }) => {
          const key = `${accountId}/${endpointId}`;
          const state = states.get(key);
          return {
            accountId,
            endpointId,
            origin: w.url.origin,
            enabled: w.enabled,
            paused: state?.pausedAt != null,
            failingSince: time(state?.failingSince ?? null),
            oldestUndeliveredTime: time(oldest.get(key) ?? null),
          };
        }),
      };
    },
    async listWebhookDeliveries(req, ctx) {
      const key = endpoint(ctx, req.accountId, req.endpointId);
      const size = pageSize(req.pageSize);
      const rows = await listDeliveries(deps.pool, key, Number(req.beforeEventId), size + 1);
      const page = rows.slice(0, size);
      const state = (await endpointStates(deps.pool)).get(`${key.accountId}/${key.endpointId}`);
      return {
        deliveries: page.map((d) => ({
          eventId: BigInt(d.eventId),
          outboxId: BigInt(d.outboxId),
          status: STATUS[d.status],
          attempts: d.attempts,
          lastHttpStatus: d.lastStatus ?? 0,
          lastError: d.lastError ?? "",
          lastAttemptTime: time(d.lastAttemptAt),
          nextAttemptTime: d.status === "pending" || d.status === "delivering" ? time(d.dueAt) : undefined,
          deliveredTime: time(d.deliveredAt),
          eventTime: time(d.eventAt),
        })),
        nextBeforeEventId: rows.length > size ? BigInt(page[page.length - 1]!.eventId) : 0n,
        paused: state?.pausedAt != null,
      };
    },
    async redeliverWebhooks(req, ctx) {
      const key = endpoint(ctx, req.accountId, req.endpointId);
      const from = Number(req.fromEventId);
      const to = req.toEventId === 0n ? from : Number(req.toEventId);
      if (from < 1 || to < from || to - from >= MAX_RANGE) {
        throw invalidArgument([
          {
            field: from < 1 ? "from_event_id" : "to_event_id",
            reason: "EVENT_RANGE_INVALID",
            description: `from_event_id must be at least 1 and to_event_id from it up to ${MAX_RANGE - 1} more`,
          },
        ]);
      }
      const redelivered = await redeliver(deps.pool, key, from, to, MAX_RANGE, deps.clock.now());
      deps.wake();
      return { redelivered };
    },
  };
}
