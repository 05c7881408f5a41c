// email.v1.AccountService: the configured accounts a caller's key covers, id and From only.
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import type { AccountService } from "../../../gen/email/v1/account_service_pb.js";
import { mayAccess } from "../auth/authorize.js";
import type { Config } from "../../config/config.js";

export function accountServiceHandlers(config: () => Config): ServiceImpl<typeof AccountService> {
  return {
    listAccounts(_req, ctx: HandlerContext) {
      const accounts = [...config().accounts.values()]
        .filter((a) => mayAccess(ctx, a.id))
        .sort((a, b) => a.id - b.id)
        .map((a) => ({ accountId: a.id, fromAddress: a.from }));
      return { accounts };
    },
  };
}
