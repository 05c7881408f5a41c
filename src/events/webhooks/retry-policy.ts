// What an attempt's answer means for its delivery: delivered, failed for good, or due again
// after an exponential backoff with jitter (at least the receiver's Retry-After), until the
// event is max_age_ms old.
import type { DeliveryOutcome } from "../../outbox/webhook-deliveries.js";
import type { WebhookConfig } from "../../config/webhooks.js";
import type { SendResult } from "./sender.js";

const MAX_DELAY_MS = 3_600_000;

export function decide(
  result: SendResult,
  attempt: { attempts: number; eventAt: number },
  endpoint: WebhookConfig,
  now: number,
  random: () => number = Math.random,
): DeliveryOutcome {
  const common = { pauseAfterMs: endpoint.pauseAfterMs, endpointOk: result.kind === "ok", httpStatus: result.status };
  if (result.kind === "ok") return { ...common, status: "delivered" };
  if (result.kind === "permanent") return { ...common, status: "failed", error: result.error };
  const deadline = attempt.eventAt + endpoint.maxAgeMs;
  if (now >= deadline) return { ...common, status: "failed", error: `gave up after max_age_ms: ${result.error}` };
  // attempts counts the ones before this: the first retry waits retry_initial_ms (half to all of it).
  const base = Math.min(MAX_DELAY_MS, endpoint.retryInitialMs * 2 ** Math.min(attempt.attempts, 20));
  const delay = Math.max(base * (0.5 + random() / 2), result.retryAfterMs ?? 0);
  return { ...common, status: "pending", dueAt: Math.min(now + delay, deadline), error: result.error };
}
