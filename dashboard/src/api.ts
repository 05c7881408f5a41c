// The page's EmailService client: Connect over fetch to the origin that served the page, with
// the API key (if any) from this tab's sessionStorage, so it never outlives the tab.
import { createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { EmailService } from "../../gen/email/v1/email_service_pb.js";

export type Api = Client<typeof EmailService>;

const KEY_ITEM = "email-outbox.api-key";

export const apiKey = {
  get: (): string => sessionStorage.getItem(KEY_ITEM) ?? "",
  set(key: string): void {
    if (key) sessionStorage.setItem(KEY_ITEM, key);
    else sessionStorage.removeItem(KEY_ITEM);
  },
};

export function createApi(baseUrl: string): Api {
  const transport = createConnectTransport({
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
  return createClient(EmailService, transport);
}
