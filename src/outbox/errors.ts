// Why the outbox refused an operation. Handlers turn these into gRPC statuses.

export type OutboxRefusal =
  | "OUTBOX_NOT_FOUND"
  | "RETRY_NOT_ALLOWED_FOR_STATUS"
  | "RETRY_NOT_DUE"
  | "MESSAGE_EXPIRED"
  | "CANCEL_NOT_ALLOWED_FOR_STATUS"
  | "IDEMPOTENCY_KEY_REUSED";

export class OutboxError extends Error {
  override name = "OutboxError";
  constructor(
    readonly reason: OutboxRefusal,
    message: string,
    readonly metadata: Record<string, string> = {},
  ) {
    super(message);
  }
}
