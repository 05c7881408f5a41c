// email.v1.AccountService: the configured accounts a caller's key covers, id and From only, each
// with its sender-side refusals of the last 24 hours (the account-level "our mail is being
// refused" signal). It never reveals SMTP settings or credentials.
import { create } from "@bufbuild/protobuf";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { SenderRefusalSchema, type AccountService } from "../../../gen/email/v1/account_service_pb.js";
import { mayAccess } from "../auth/authorize.js";
import { REFUSAL_WINDOW_MS, senderRefusals } from "../../inbound/bounces/refusals.js";
import type { Clock } from "../../db/clock.js";
import type { Config } from "../../config/config.js";
import type { Queryable } from "../../db/pool.js";
import { time } from "./mapping.js";
import { toProtoReason } from "./reason-mapping.js";

export function accountServiceHandlers(deps: { config: () => Config; pool: Queryable; clock: Clock }): ServiceImpl<typeof AccountService> {
  return {
    async listAccounts(_req, ctx: HandlerContext) {
      const accounts = [...deps.config().accounts.values()].filter((a) => mayAccess(ctx, a.id)).sort((a, b) => a.id - b.id);
      const refusals = await senderRefusals(deps.pool, accounts, deps.clock.now() - REFUSAL_WINDOW_MS);
      return {
        accounts: accounts.map((a) => ({
          accountId: a.id,
          fromAddress: a.from,
          senderRefusals: (refusals.get(a.id) ?? []).map((r) =>
            create(SenderRefusalSchema, {
              reason: toProtoReason(r.reason),
              count: r.count,
              latestDomain: r.latestDomain,
              latestDiagnostic: r.latestDiagnostic,
              latestTime: time(r.latestAt),
            }),
          ),
        })),
      };
    },
  };
}
