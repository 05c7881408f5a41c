// Reading the error details the service attaches to every refusal: a google.rpc.ErrorInfo with a
// stable reason, and for bad fields a google.rpc.BadRequest. Browser-safe (no Node imports), so
// the dashboard uses it too.
import { type Code, ConnectError } from "@connectrpc/connect";
import type { SendBatchResult } from "../../gen/email/v1/email_service_pb.js";
import {
  BadRequestSchema,
  ErrorInfoSchema,
  type BadRequest_FieldViolation,
  type ErrorInfo,
} from "../../gen/google/rpc/error_details_pb.js";

/** The ErrorInfo of a failed call, if the server sent one. */
export function errorInfo(err: unknown): ErrorInfo | undefined {
  return ConnectError.from(err).findDetails(ErrorInfoSchema)[0];
}

/** The stable reason of a failed call, e.g. "ADDRESS_INVALID" or "RETRY_NOT_DUE". */
export function errorReason(err: unknown): string | undefined {
  return errorInfo(err)?.reason;
}

/** Every bad field of an INVALID_ARGUMENT, in request order. */
export function fieldViolations(err: unknown): BadRequest_FieldViolation[] {
  return ConnectError.from(err)
    .findDetails(BadRequestSchema)
    .flatMap((d) => d.fieldViolations);
}

/**
 * A SendBatch result that was refused, as the ConnectError Send would have thrown (so errorReason
 * and fieldViolations read it); undefined for a committed message.
 */
export function batchError(result: SendBatchResult): ConnectError | undefined {
  if (result.result.case !== "error") return undefined;
  const status = result.result.value;
  const details = status.details.map((d) => ({ type: d.typeUrl.slice(d.typeUrl.lastIndexOf("/") + 1), value: d.value }));
  const err = new ConnectError(status.message, status.code as Code);
  // As the protocols parse details off the wire: by type name, still encoded.
  err.details.push(...details);
  return err;
}
