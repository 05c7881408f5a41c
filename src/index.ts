// The package's entry point: the typed client, its helpers, and the generated messages and
// enums a caller builds requests from and reads responses with.
export {
  batchError,
  bounceReasonName,
  createEmailClient,
  createEmailTransport,
  defaultReasonClass,
  errorInfo,
  errorReason,
  fieldViolations,
  oneClickUnsubscribe,
  waitForOutcome,
  type EmailClient,
  type EmailClientOptions,
  type Protocol,
  type ReasonClass,
} from "./client/client.js";
export { enqueueInTransaction, type EnqueueOptions, type SqlConnection } from "./client/outbox-request.js";
export * from "../gen/email/v1/email_service_pb.js";
export * from "../gen/email/v1/outbox_pb.js";
export * from "../gen/email/v1/mailbox_service_pb.js";
export * from "../gen/email/v1/account_service_pb.js";
export * from "../gen/email/v1/webhook_service_pb.js";
export * from "../gen/email/v1/template_service_pb.js";
export { BadRequestSchema, ErrorInfoSchema, type BadRequest, type ErrorInfo } from "../gen/google/rpc/error_details_pb.js";
export { Code, ConnectError } from "@connectrpc/connect";
