// Starts the real service in-process on 127.0.0.1 port 0 against a fresh database.
import { Writable } from "node:stream";
import { parseConfig, type Config } from "../../src/config/config.js";
import { startApp, type App, type AppOptions } from "../../src/app/app.js";
import type { Clock } from "../../src/db/clock.js";
import { createLogger } from "../../src/lib/log.js";
import { createTestDatabase, type TestDatabase } from "./db.js";

export interface TestAppOptions {
  /** The config file's JSON (accounts, allow_failure_mode, sender, watch, …). */
  json?: Record<string, unknown>;
  clock?: Clock;
  background?: boolean;
  /** Reuse a database (e.g. a second instance); otherwise a fresh one is made and dropped. */
  db?: TestDatabase;
  label?: string;
  /** Listen address; 127.0.0.1 unless given. */
  host?: string;
  /** Environment variables the config refers to (secrets by `*_env`). */
  env?: NodeJS.ProcessEnv;
  /** DNS for the webhooks' SSRF check. */
  resolve?: AppOptions["resolve"];
}

export interface TestApp {
  app: App;
  url: string;
  db: TestDatabase;
  config: Config;
  /** Every log line the service wrote, as parsed JSON. */
  logs: Record<string, unknown>[];
  /** Stops the app; drops the database if this call made it. */
  close(): Promise<void>;
}

/** A sink account config pointing at a test SMTP server without TLS. */
export function sinkAccount(id: number, port: number, extra: Record<string, unknown> = {}) {
  return { id, from: `Account ${id} <sender${id}@example.com>`, smtp: { host: "127.0.0.1", port, tls: "none", ...extra } };
}

export async function startTestApp(opts: TestAppOptions = {}): Promise<TestApp> {
  const db = opts.db ?? (await createTestDatabase(opts.label));
  const config = parseConfig(
    opts.json ?? {},
    { ...opts.env, DATABASE_URL: db.url, PORT: "0", HOST: opts.host ?? "127.0.0.1" },
    process.cwd(),
  );
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split("\n")) if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  const appOpts: AppOptions = {
    config,
    clock: opts.clock,
    background: opts.background,
    resolve: opts.resolve,
    log: createLogger("debug", sink),
  };
  const app = await startApp(appOpts);
  return {
    app,
    url: app.url,
    db,
    config,
    logs,
    async close() {
      await app.stop();
      if (!opts.db) await db.drop();
    },
  };
}
