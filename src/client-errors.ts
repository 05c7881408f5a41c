// Reading the error details the service attaches to every refusal: a google.rpc.ErrorInfo with a
// stable reason, and for bad fields a google.rpc.BadRequest. Browser-safe (no Node imports), so
// the dashboard uses it too.
import { ConnectError } from "@connectrpc/connect";
import {
  BadRequestSchema,
  ErrorInfoSchema,
  type BadRequest_FieldViolation,
  type ErrorInfo,
} from "../gen/google/rpc/error_details_pb.js";

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
  return ConnectError.from(err).findDetails(BadRequestSchema).flatMap((d) => d.fieldViolations);
}
