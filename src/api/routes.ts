// The RPC surface: EmailService, MailboxService, AccountService, WebhookService and TemplateService, plus reflection and health for tools and load balancers.
import type { ConnectRouter, ServiceImpl } from "@connectrpc/connect";
import { EmailService, file_email_v1_email_service } from "../../gen/email/v1/email_service_pb.js";
import { MailboxService, file_email_v1_mailbox_service } from "../../gen/email/v1/mailbox_service_pb.js";
import { AccountService, file_email_v1_account_service } from "../../gen/email/v1/account_service_pb.js";
import { WebhookService, file_email_v1_webhook_service } from "../../gen/email/v1/webhook_service_pb.js";
import { TemplateService, file_email_v1_template_service } from "../../gen/email/v1/template_service_pb.js";
import { file_grpc_health_v1_health, Health } from "../../gen/grpc/health/v1/health_pb.js";
import { file_google_rpc_error_details } from "../../gen/google/rpc/error_details_pb.js";
import { file_google_rpc_status } from "../../gen/google/rpc/status_pb.js";
import type { HealthService } from "./standard/health.js";
import { registerReflection } from "./standard/reflection.js";
import type { ServedService } from "./unary-grpc.js";

/** The application's own services: health answers for each of them by name, and for "". */
export const APPLICATION_SERVICES = [
  EmailService.typeName,
  MailboxService.typeName,
  AccountService.typeName,
  WebhookService.typeName,
  TemplateService.typeName,
];

export interface Services {
  email: ServiceImpl<typeof EmailService>;
  mailbox: ServiceImpl<typeof MailboxService>;
  accounts: ServiceImpl<typeof AccountService>;
  webhooks: ServiceImpl<typeof WebhookService>;
  templates: ServiceImpl<typeof TemplateService>;
}

/** Every service with its implementation, health included: what the router and the framed gRPC path serve. */
export function servedServices({ email, mailbox, accounts, webhooks, templates }: Services, health: HealthService): ServedService[] {
  return [
    { service: EmailService, impl: email },
    { service: MailboxService, impl: mailbox },
    { service: AccountService, impl: accounts },
    { service: WebhookService, impl: webhooks },
    { service: TemplateService, impl: templates },
    { service: Health, impl: health.impl },
  ];
}

export function routes(served: readonly ServedService[]) {
  return (router: ConnectRouter) => {
    for (const { service, impl } of served) router.service(service, impl);
    // The google.rpc files too: clients decode the ErrorInfo and BadRequest of every refusal.
    registerReflection(router, [
      file_email_v1_email_service,
      file_email_v1_mailbox_service,
      file_email_v1_account_service,
      file_email_v1_webhook_service,
      file_email_v1_template_service,
      file_grpc_health_v1_health,
      file_google_rpc_status,
      file_google_rpc_error_details,
    ]);
  };
}
