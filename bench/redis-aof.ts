// The durable peer's store: a Redis of its own with the append-only file on and fsync every
// second (what a team that cannot lose jobs runs), started on a free port in a scratch folder
// and stopped when the phase ends.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { redisVersion } from "./peer.js";

export interface AofRedis {
  host: string;
  port: number;
  pid: number;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export async function startAofRedis(): Promise<AofRedis> {
  const dir = mkdtempSync(path.join(tmpdir(), "email-outbox-redis-aof-"));
  const port = await freePort();
  const child = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "yes", "--appendfsync", "everysec"],
    { stdio: "ignore" },
  );
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async () => {
    child.kill("SIGTERM");
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 10_000;
  while (!(await redisVersion({ host: "127.0.0.1", port }))) {
    if (Date.now() > deadline || child.exitCode !== null) {
      await stop();
      throw new Error("the AOF Redis did not start");
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { host: "127.0.0.1", port, pid: child.pid!, stop };
}
