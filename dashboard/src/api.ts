// The page's clients (EmailService, AccountService for the account picker, WebhookService for
// the Webhooks panel, MailboxService for the Suppressions panel, TemplateService for the
// Templates panel): Connect over
// fetch to the origin that served the page, with the API key (if any) from this tab's
// sessionStorage, so it never outlives the tab.
import { createClient, type Client, type Transport } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { AccountService } from "../../gen/email/v1/account_service_pb.js";
import { EmailService } from "../../gen/email/v1/email_service_pb.js";
import { MailboxService } from "../../gen/email/v1/mailbox_service_pb.js";
import { WebhookService } from "../../gen/email/v1/webhook_service_pb.js";
import { TemplateService } from "../../gen/email/v1/template_service_pb.js";

export type Api = Client<typeof EmailService>;
export type AccountsApi = Client<typeof AccountService>;
export type WebhooksApi = Client<typeof WebhookService>;
export type MailboxApi = Client<typeof MailboxService>;
export type TemplatesApi = Client<typeof TemplateService>;

const KEY_ITEM = "email-outbox.api-key";

export const apiKey = {
  get: (): string => sessionStorage.getItem(KEY_ITEM) ?? "",
  set(key: string): void {
    if (key) sessionStorage.setItem(KEY_ITEM, key);
    else sessionStorage.removeItem(KEY_ITEM);
  },
};

export function createApi(baseUrl: string): Api {
  return createClient(EmailService, transport(baseUrl));
}

export function createAccountsApi(baseUrl: string): AccountsApi {
  return createClient(AccountService, transport(baseUrl));
}

export function createWebhooksApi(baseUrl: string): WebhooksApi {
  return createClient(WebhookService, transport(baseUrl));
}

export function createMailboxApi(baseUrl: string): MailboxApi {
  return createClient(MailboxService, transport(baseUrl));
}

export function createTemplatesApi(baseUrl: string): TemplatesApi {
  return createClient(TemplateService, transport(baseUrl));
}

function transport(baseUrl: string): Transport {
  return createConnectTransport({
    baseUrl,
    useBinaryFormat: true,
    interceptors: [
      (next) => (req) => {
        const key = apiKey.get();
        if (key) req.header.set("authorization", `Bearer ${key}`);
        return next(req);
      },
    ],
  });
}
