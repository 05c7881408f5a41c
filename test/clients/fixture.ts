// The real service the client tests talk to: one SMTP sink account, failure_mode allowed so
// clients can exercise failed attempts, and an API key so every client proves it sends one.
import { sinkAccount, startTestApp, type TestApp } from "../helpers/app.js";
import { startSmtpSink, type ReceivedMessage, type SmtpSink } from "../helpers/smtp-sink.js";
import { testKey } from "../security/keys.js";

export const DOMAIN = "clients.test";

export interface ClientFixture {
  t: TestApp;
  sink: SmtpSink;
  /** An API key with every scope on every account. */
  apiKey: string;
  /** A key with only the `send` scope, for refusals. */
  sendOnlyKey: string;
  /** The message the sink accepted with this Message-ID. */
  received(messageId: string): ReceivedMessage | undefined;
  close(): Promise<void>;
}

/** `accounts` sink accounts, ids 1..accounts, all delivering to the one sink. */
export async function startClientFixture(label: string, accounts = 1): Promise<ClientFixture> {
  const sink = await startSmtpSink();
  const key = testKey("clients", "*");
  const sendOnly = testKey("send-only", "*", ["send"]);
  let t: TestApp;
  try {
    t = await startTestApp({
      label,
      json: {
        accounts: Array.from({ length: accounts }, (_, i) => sinkAccount(i + 1, sink.port)),
        message_id_domain: DOMAIN,
        allow_failure_mode: true,
        api_keys: [key.entry, sendOnly.entry],
      },
    });
  } catch (err) {
    await sink.close();
    throw err;
  }
  return {
    t,
    sink,
    apiKey: key.key,
    sendOnlyKey: sendOnly.key,
    received: (messageId) => sink.messages.find((m) => m.messageId === messageId),
    async close() {
      await t.close();
      await sink.close();
    },
  };
}
