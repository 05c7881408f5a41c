// What each RPC needs: one table, so a new method is denied until it is listed here.

/** `metrics` is for GET /metrics on the API port (no RPC needs it); `templates` saves and deletes templates. */
export const SCOPES = ["send", "reply", "retry", "cancel", "read", "watch", "ingest", "suppress", "metrics", "templates"] as const;
export type Scope = (typeof SCOPES)[number];

/** "package.Service/Method" -> the scope a key needs to call it. */
const METHOD_SCOPES: ReadonlyMap<string, Scope> = new Map<string, Scope>([
  ["email.v1.EmailService/Send", "send"],
  ["email.v1.EmailService/SendBatch", "send"],
  ["email.v1.EmailService/Reply", "reply"],
  ["email.v1.EmailService/RetryOutbox", "retry"],
  ["email.v1.EmailService/CancelOutbox", "cancel"],
  ["email.v1.EmailService/GetOutbox", "read"],
  ["email.v1.EmailService/ListOutbox", "read"],
  ["email.v1.EmailService/GetOutboxMessage", "read"],
  ["email.v1.EmailService/GetOutboxActivity", "read"],
  ["email.v1.EmailService/WatchOutbox", "watch"],
  ["email.v1.MailboxService/IngestMessage", "ingest"],
  ["email.v1.MailboxService/GetMessage", "read"],
  ["email.v1.MailboxService/ListMessages", "read"],
  ["email.v1.MailboxService/ListSuppressions", "read"],
  ["email.v1.MailboxService/AddSuppression", "suppress"],
  ["email.v1.MailboxService/RemoveSuppression", "suppress"],
  ["email.v1.AccountService/ListAccounts", "read"],
  ["email.v1.WebhookService/ListWebhookEndpoints", "read"],
  ["email.v1.WebhookService/ListWebhookDeliveries", "read"],
  ["email.v1.WebhookService/RedeliverWebhooks", "retry"],
  ["email.v1.TemplateService/CreateTemplate", "templates"],
  ["email.v1.TemplateService/UpdateTemplate", "templates"],
  ["email.v1.TemplateService/DeleteTemplate", "templates"],
  ["email.v1.TemplateService/GetTemplate", "read"],
  ["email.v1.TemplateService/ListTemplates", "read"],
  ["email.v1.TemplateService/ListTemplateVersions", "read"],
  ["email.v1.TemplateService/RenderTemplate", "read"],
]);

/** Services any caller may use: tools and load balancers must not need a key. */
const OPEN_SERVICES: ReadonlySet<string> = new Set([
  "grpc.health.v1.Health",
  "grpc.reflection.v1.ServerReflection",
  "grpc.reflection.v1alpha.ServerReflection",
]);

export type MethodRule = { open: true } | { open: false; scope: Scope | undefined };

export function methodRule(service: string, method: string): MethodRule {
  if (OPEN_SERVICES.has(service)) return { open: true };
  return { open: false, scope: METHOD_SCOPES.get(`${service}/${method}`) };
}

export function isScope(value: unknown): value is Scope {
  return typeof value === "string" && (SCOPES as readonly string[]).includes(value);
}
