// The set-up most service tests share: one SMTP sink, the service with account 1 on it, and a
// client, started before a file's tests and stopped after them.
import { afterAll, beforeAll } from "vitest";
import { sinkAccount, startTestApp, type TestApp, type TestAppOptions } from "./app.js";
import { emailClient, type EmailClient } from "./clients.js";
import { startSmtpSink, type SinkOptions, type SmtpSink } from "./smtp-sink.js";

export interface SinkApp {
  sink: SmtpSink;
  t: TestApp;
  client: EmailClient;
}

export interface SinkAppOptions extends TestAppOptions {
  /** How the sink answers (a script of replies, TLS, …). */
  sink?: SinkOptions;
  /** Settings of account 1 besides its SMTP server (rate_limit, say). */
  account?: Record<string, unknown>;
}

/**
 * Starts the sink and the service before the file's tests, and stops both after them. `json` is
 * the config besides `accounts`. The returned fields are set once beforeAll has run.
 */
export function useSinkApp(opts: SinkAppOptions): SinkApp {
  const env = {} as SinkApp;
  beforeAll(async () => {
    env.sink = await startSmtpSink(opts.sink);
    env.t = await startTestApp({ ...opts, json: { accounts: [{ ...sinkAccount(1, env.sink.port), ...opts.account }], ...opts.json } });
    env.client = emailClient(env.t.url);
  });
  afterAll(async () => {
    await env.t?.close();
    await env.sink?.close();
  });
  return env;
}
