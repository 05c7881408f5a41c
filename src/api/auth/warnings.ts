// What an operator must hear at start: the security settings that are weaker than the default.
import type { Config } from "../../config/config.js";
import type { Logger } from "../../lib/log.js";
import { isLoopbackHost } from "./loopback.js";

export function logSecurityPosture(config: Config, log: Logger): void {
  if (config.apiKeys.length === 0) {
    if (isLoopbackHost(config.host)) log.info({ host: config.host }, "no api_keys: authentication is off (loopback only)");
    else log.warn({ host: config.host }, "allow_unauthenticated: anyone who can reach this address can send mail");
  }
  for (const account of config.accounts.values()) {
    for (const relay of account.relays) {
      if (relay.smtp && !relay.smtp.rejectUnauthorized) {
        log.warn(
          { account_id: account.id, relay: relay.name },
          "smtp tls_reject_unauthorized is false: the SMTP server's certificate is not verified",
        );
      }
    }
    for (const hook of account.webhooks) {
      if (hook.url.protocol === "http:" && hook.allowHttp) {
        log.warn({ account_id: account.id, endpoint: hook.id }, "webhook allow_http: events and signatures go unencrypted");
      }
    }
  }
}
