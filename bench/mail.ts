// What every contender sends: the same account settings (the service's config JSON, parsed by the
// service's own parser for the peer and the ceiling) and the same small message.
import { parseConfig, type AccountConfig } from "../src/config/config.js";

export const BENCH_FROM = "Bench <bench@example.com>";

/** The one account of every run: the sink, plain SMTP, the service's default pool size. */
export function benchAccountJson(sinkPort: number): Record<string, unknown> {
  return { id: 1, from: BENCH_FROM, smtp: { host: "127.0.0.1", port: sinkPort, tls: "none" } };
}

/** The account as the service sees it (defaults filled in: max_connections 5, timeouts). */
export function benchAccount(sinkPort: number): AccountConfig {
  return parseConfig({ accounts: [benchAccountJson(sinkPort)] }, {}, process.cwd()).accounts.get(1)!;
}

/** Message i: one recipient, a short subject and a ~300-byte text body. */
export function benchMessage(i: number): { to: string; subject: string; text: string } {
  return {
    to: `rcpt${i}@example.com`,
    subject: `Benchmark message ${i}`,
    text: `Hello ${i},\n\n${"This is a benchmark message of ordinary size. ".repeat(6)}\n`,
  };
}

/** Milliseconds since the epoch with sub-millisecond resolution, comparable across processes. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}
