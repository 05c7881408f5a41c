// Runs the service as a real child process (for crash, outage and multi-instance tests and for
// benchmarks): a config file in a temp dir, port 0, readiness read from the "listening" log line.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export interface ServiceProcess {
  child: ChildProcess;
  port: number;
  url: string;
  /** Parsed JSON log lines so far. */
  logs: Record<string, unknown>[];
  /** Resolves with the exit code (or signal name) when the process ends. */
  exited: Promise<number | string>;
  kill(signal?: NodeJS.Signals): void;
}

export interface ServiceOptions {
  databaseUrl: string;
  config: Record<string, unknown>;
  env?: Record<string, string>;
  /** Fixed port (e.g. to restart on the same address); default 0. */
  port?: number;
  startTimeoutMs?: number;
  /** Extra node options after the tsx loader, e.g. ["--cpu-prof"] or ["--import", "./hook.ts"]. */
  nodeArgs?: string[];
}

export async function startServiceProcess(opts: ServiceOptions): Promise<ServiceProcess> {
  const dir = mkdtempSync(path.join(tmpdir(), "email-outbox-"));
  const configFile = path.join(dir, "config.json");
  writeFileSync(configFile, JSON.stringify(opts.config));
  return startProcess(process.execPath, ["--import", "tsx", ...(opts.nodeArgs ?? []), "src/main.ts"], {
    cwd: ROOT,
    // debug: the tests read the per-attempt "sent" lines.
    env: { DATABASE_URL: opts.databaseUrl, EMAIL_OUTBOX_CONFIG: configFile, PORT: String(opts.port ?? 0), LOG_LEVEL: "debug", ...opts.env },
    startTimeoutMs: opts.startTimeoutMs,
  });
}

/**
 * Any command that ends up running the service (`node dist/main.js`, `npm start`, ...): resolves
 * once its "listening" log line names the port. HOST defaults to 127.0.0.1 and PORT to 0.
 */
export async function startProcess(
  command: string,
  args: string[],
  opts: { cwd: string; env?: Record<string, string>; startTimeoutMs?: number },
): Promise<ServiceProcess> {
  const child = spawn(command, args, {
    cwd: opts.cwd,
    env: { ...process.env, HOST: "127.0.0.1", PORT: "0", LOG_LEVEL: "info", ...opts.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const logs: Record<string, unknown>[] = [];
  // "close", not "exit": the last log lines may still be in the pipe when the process has exited.
  const exited = new Promise<number | string>((resolve) => child.once("close", (code, signal) => resolve(code ?? signal ?? -1)));
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`service did not start in time; stderr: ${stderr}`)), opts.startTimeoutMs ?? 30_000);
    let buffered = "";
    child.stdout!.on("data", (d: Buffer) => {
      buffered += d.toString();
      let nl: number;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        try {
          const entry = JSON.parse(line) as Record<string, unknown>;
          logs.push(entry);
          if (entry.msg === "listening") {
            clearTimeout(timer);
            resolve(entry.port as number);
          }
        } catch {
          // not a log line
        }
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`service exited (${code}) before listening; stderr: ${stderr}`));
    });
  });
  return {
    child,
    port,
    url: `http://127.0.0.1:${port}`,
    logs,
    exited,
    kill: (signal = "SIGTERM") => void child.kill(signal),
  };
}
