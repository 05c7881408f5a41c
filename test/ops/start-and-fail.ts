// Run as a process of its own by start-unwind.test.ts: starts the app from START_SPEC and, when the
// start fails, just returns. The process then ends by itself only if the failed start left nothing
// running (no timer, socket or pool connection).
import { startApp } from "../../src/app/app.js";
import { parseConfig } from "../../src/config/config.js";
import { createLogger } from "../../src/lib/log.js";
import { withUnappliableImap } from "./late-failure.js";

const spec = JSON.parse(process.env.START_SPEC!) as { json: Record<string, unknown>; env: Record<string, string>; breakImapOf?: number };
const parsed = parseConfig(spec.json, spec.env, process.cwd());
const config = spec.breakImapOf === undefined ? parsed : withUnappliableImap(parsed, spec.breakImapOf);
startApp({ config, log: createLogger("warn") }).then(
  async (app) => {
    process.exitCode = 3;
    await app.stop();
  },
  (err: unknown) => console.log(JSON.stringify({ msg: "start rejected", err: (err as Error).message })),
);
