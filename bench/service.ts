// The service under test: a child process on a fresh database, one account pointing at the sink.
import { fileURLToPath } from "node:url";
import { createTestDatabase, type TestDatabase } from "../test/helpers/db.js";
import { startServiceProcess, type ServiceProcess } from "../test/helpers/service-process.js";
import { benchAccountJson } from "./mail.js";
import { processStats, type ProcessStats } from "./proc.js";
import { progress } from "./progress.js";

export interface ServiceProfile {
  /** Folder for a --cpu-prof profile, written when the service exits. */
  cpuProfileDir?: string;
  /** File the SQL statement counts are written to when the service exits. */
  queryCountsFile?: string;
}

export interface BenchService {
  proc: ServiceProcess;
  db: TestDatabase;
  pid: number;
  stats(): ProcessStats;
  stop(): Promise<void>;
}

/** A graceful stop waits for attempts under way; past this the process is killed. */
const STOP_TIMEOUT_MS = 30_000;
const COUNTER = fileURLToPath(new URL("./query-counter.ts", import.meta.url));

/** More for the bench account (e.g. webhooks) and the environment it needs. */
export interface ServiceExtra {
  account?: Record<string, unknown>;
  env?: Record<string, string>;
}

/** Starts the service; a start that fails (on a busy machine, say) is tried once more. */
export async function startService(
  label: string,
  sinkPort: number,
  profile?: ServiceProfile,
  extra: ServiceExtra = {},
): Promise<BenchService> {
  try {
    return await startOnce(label, sinkPort, profile, extra);
  } catch (err) {
    progress(`the service did not start (${(err as Error).message.split("\n")[0]}); trying once more`);
    return startOnce(label, sinkPort, profile, extra);
  }
}

async function startOnce(label: string, sinkPort: number, profile: ServiceProfile | undefined, extra: ServiceExtra): Promise<BenchService> {
  const db = await createTestDatabase(`bench_${label}`);
  const proc = await startServiceProcess({
    databaseUrl: db.url,
    // Row 6 opens 1,000 watch streams over one connection, beside the Sends on the same one (the
    // default allows 100 streams at once), and
    // 10,000 idle ones over connections of 100 (the default caps open streams at 1,000 in all).
    config: {
      accounts: [{ ...benchAccountJson(sinkPort), ...extra.account }],
      server: { max_concurrent_streams: 2_000 },
      watch: { max_streams: 20_000, max_streams_per_key: 20_000 },
    },
    nodeArgs: [
      ...(profile?.cpuProfileDir ? ["--cpu-prof", `--cpu-prof-dir=${profile.cpuProfileDir}`] : []),
      ...(profile?.queryCountsFile ? ["--import", COUNTER] : []),
    ],
    // The level a production service runs at (the test helper defaults to debug).
    env: { LOG_LEVEL: "info", ...extra.env, ...(profile?.queryCountsFile ? { BENCH_QUERY_COUNTS: profile.queryCountsFile } : {}) },
    startTimeoutMs: 60_000,
  }).catch(async (err: unknown) => {
    await db.drop();
    throw err;
  });
  // The service logs every delivery; keep draining its output but stop parsing it here, so the
  // benchmark process spends no CPU on it.
  proc.child.stdout!.removeAllListeners("data");
  proc.child.stdout!.resume();
  const pid = proc.child.pid!;
  return {
    proc,
    db,
    pid,
    stats: () => processStats(pid),
    async stop() {
      proc.kill("SIGTERM");
      const forced = setTimeout(() => proc.kill("SIGKILL"), STOP_TIMEOUT_MS);
      await proc.exited;
      clearTimeout(forced);
      await db.drop();
    },
  };
}
