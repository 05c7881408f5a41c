// The parent's side of the peer (BullMQ + nodemailer) and the ceiling (nodemailer alone): the
// child process that runs them, the queue producer, and the Redis check.
import { fork, type ChildProcess } from "node:child_process";
import { connect } from "node:net";
import { fileURLToPath } from "node:url";
import { Queue } from "bullmq";
import { processStats } from "./proc.js";

export interface RedisAddress {
  host: string;
  port: number;
}

/** The machine's Redis (no persistence here); the durable peer starts its own (redis-aof.ts). */
export const REDIS: RedisAddress = { host: "127.0.0.1", port: 6379 };

export type PeerCommand =
  | { type: "worker"; queue: string; concurrency: number; redis: RedisAddress }
  | { type: "direct"; count: number; inFlight: number; prefix: string }
  | { type: "exit" };

export type PeerReply = { type: "ok" } | { type: "direct-done"; starts: Record<string, number> } | { type: "error"; message: string };

export interface PeerJob {
  id: string;
  i: number;
}

const CHILD = fileURLToPath(new URL("./peer-process.ts", import.meta.url));

export class PeerProcess {
  private replies: ((r: PeerReply) => void)[] = [];
  private readonly exited: Promise<void>;

  private constructor(private readonly child: ChildProcess) {
    child.on("message", (r: PeerReply) => this.replies.shift()?.(r));
    this.exited = new Promise((resolve) => child.once("exit", () => resolve()));
  }

  /** Forks the child and waits until its transport is made. */
  static async start(sinkPort: number): Promise<PeerProcess> {
    const child = fork(CHILD, [], {
      execArgv: ["--import", "tsx"],
      env: { ...process.env, BENCH_SINK_PORT: String(sinkPort) },
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    const peer = new PeerProcess(child);
    await peer.next();
    return peer;
  }

  /** Sends a command and resolves with the child's answer; rejects if it reports an error. */
  async request(cmd: PeerCommand): Promise<PeerReply> {
    const answer = this.next();
    this.child.send(cmd);
    const r = await answer;
    if (r.type === "error") throw new Error(`peer process: ${r.message}`);
    return r;
  }

  stats() {
    return processStats(this.child.pid!);
  }

  async stop(): Promise<void> {
    await this.request({ type: "exit" }).catch(() => this.child.kill());
    await this.exited;
  }

  private next(): Promise<PeerReply> {
    return new Promise((resolve, reject) => {
      this.replies.push(resolve);
      this.child.once("exit", (code) => reject(new Error(`peer process exited (${code})`)));
    });
  }
}

/** A BullMQ queue whose jobs look like what a user of BullMQ + nodemailer would add. */
export function openQueue(name: string, redis: RedisAddress = REDIS): Queue<PeerJob> {
  return new Queue<PeerJob>(name, {
    connection: { ...redis },
    defaultJobOptions: { attempts: 25, backoff: { type: "exponential", delay: 5_000 }, removeOnComplete: true },
  });
}

/** The version of the Redis server there, or undefined if none answers within a second. */
export function redisVersion(redis: RedisAddress = REDIS): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect(redis.port, redis.host);
    let reply = "";
    const done = (version: string | undefined) => {
      socket.destroy();
      resolve(version);
    };
    socket.setTimeout(1_000, () => done(undefined));
    socket.once("error", () => done(undefined));
    socket.once("connect", () => socket.write("INFO server\r\n"));
    socket.on("data", (d: Buffer) => {
      reply += d.toString();
      const version = /redis_version:(\S+)\r\n/.exec(reply)?.[1];
      if (version) done(version);
      else if (reply.startsWith("-")) done(undefined);
    });
  });
}
