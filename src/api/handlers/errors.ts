// The one error factory: every refusal is a ConnectError with a google.rpc.ErrorInfo (a stable
// UPPER_SNAKE reason) and, for bad fields, a google.rpc.BadRequest. Internal causes are logged by
// the interceptor, never sent.
import { create, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { anyPack } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { BadRequestSchema, ErrorInfoSchema } from "../../../gen/google/rpc/error_details_pb.js";
import { StatusSchema, type Status } from "../../../gen/google/rpc/status_pb.js";
import { OutboxError } from "../../outbox/errors.js";

export const ERROR_DOMAIN = "email.v1";

export interface FieldViolation {
  field: string;
  description: string;
  reason: string;
}

export function apiError(
  code: Code,
  reason: string,
  message: string,
  metadata: Record<string, string> = {},
  violations: FieldViolation[] = [],
): ConnectError {
  const details = [{ desc: ErrorInfoSchema, value: create(ErrorInfoSchema, { reason, domain: ERROR_DOMAIN, metadata }) }];
  const withViolations = violations.length
    ? [...details, { desc: BadRequestSchema, value: create(BadRequestSchema, { fieldViolations: violations }) }]
    : details;
  return new ConnectError(message, code, undefined, withViolations);
}

/** INVALID_ARGUMENT for the first violation (its reason and message), listing all of them. */
export function invalidArgument(violations: FieldViolation[]): ConnectError {
  const first = violations[0]!;
  return apiError(Code.InvalidArgument, first.reason, first.description, { field: first.field }, violations);
}

const REFUSAL_CODES: Record<OutboxError["reason"], Code> = {
  OUTBOX_NOT_FOUND: Code.NotFound,
  RETRY_NOT_ALLOWED_FOR_STATUS: Code.FailedPrecondition,
  RETRY_NOT_DUE: Code.FailedPrecondition,
  MESSAGE_EXPIRED: Code.FailedPrecondition,
  CANCEL_NOT_ALLOWED_FOR_STATUS: Code.FailedPrecondition,
  IDEMPOTENCY_KEY_REUSED: Code.FailedPrecondition,
};

/** Maps what the outbox refused to its status; anything else is rethrown untouched. */
export function fromOutboxError(err: unknown): never {
  if (err instanceof OutboxError) throw apiError(REFUSAL_CODES[err.reason], err.reason, err.message, err.metadata);
  throw err;
}

/** An API error as a google.rpc.Status message (for results inside a response, as SendBatch has). */
export function toStatus(err: ConnectError): Status {
  const details = err.details.flatMap((d) => ("desc" in d ? [anyPack(d.desc as DescMessage, d.value as MessageShape<DescMessage>)] : []));
  return create(StatusSchema, { code: err.code, message: err.rawMessage, details });
}
