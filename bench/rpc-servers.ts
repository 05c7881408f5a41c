// `npm run bench:rpc-servers`: what one unary gRPC call costs the server, by the stack that serves
// it. The same health Check, answered the same way, served over h2c by connect-node (the service's
// stack), by the service's framed path for unary gRPC calls (src/api/unary-grpc.ts: the same
// handler, key check, budget, deadline, errors and metrics as through connect), by
// @grpc/grpc-js's server, and by a plain node:http2 handler (no framework: the floor).
// Each server runs in a child process; one grpc-js client keeps 32 calls in flight against it.
// Figures: the server's CPU per call and calls/s, and each stack's CPU ÷ connect-node's, paired
// per round. It answers which stack is worth serving gRPC with; it is not part of `npm run bench`.
import { fork } from "node:child_process";
import http2 from "node:http2";
import { fileURLToPath } from "node:url";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import {
  Health,
  HealthCheckRequestSchema,
  HealthCheckResponseSchema,
  HealthCheckResponse_ServingStatus as Status,
} from "../gen/grpc/health/v1/health_pb.js";
import { READ_MAX_BYTES } from "../src/api/rpc-gate.js";
import { RequestBudget } from "../src/api/request-budget.js";
import { unaryOverGrpc } from "../src/api/unary-grpc.js";
import { createLogger } from "../src/lib/log.js";
import { Metrics } from "../src/metrics/metrics.js";
import { BenchClient } from "./grpc.js";
import { median } from "./stats.js";

const STACKS = ["connect-node", "framed path", "grpc-js", "node:http2"] as const;
type Stack = (typeof STACKS)[number];
const CALLS = Number(process.env.CALLS ?? 20_000);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const IN_FLIGHT = 32;
const answer = () => create(HealthCheckResponseSchema, { status: Status.SERVING });

/** Starts the server of `stack` on a free port; resolves with the port. */
async function serve(stack: Stack): Promise<number> {
  if (stack === "grpc-js") {
    const server = new grpc.Server();
    const path = `/${Health.typeName}/${Health.method.check.name}`;
    server.addService(
      {
        Check: {
          path,
          requestStream: false,
          responseStream: false,
          requestSerialize: (m: unknown) => Buffer.from(toBinary(HealthCheckRequestSchema, m as never)),
          requestDeserialize: (b: Buffer) => fromBinary(HealthCheckRequestSchema, b),
          responseSerialize: (m: unknown) => Buffer.from(toBinary(HealthCheckResponseSchema, m as never)),
          responseDeserialize: (b: Buffer) => fromBinary(HealthCheckResponseSchema, b),
        },
      },
      { Check: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, answer()) },
    );
    return new Promise((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))),
    );
  }
  const impl = { check: async () => answer(), watch: async function* () {} };
  const handler =
    stack === "connect-node"
      ? connectNodeAdapter({ routes: (r: ConnectRouter) => r.service(Health, impl) })
      : stack === "framed path"
        ? framedPath(impl)
        : plainHandler();
  const server = http2.createServer(handler as (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void);
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port)));
}

/** The service's path: unary-grpc.ts with what the service gives it; the router is never reached here. */
function framedPath(impl: Record<string, unknown>) {
  const framed = unaryOverGrpc({
    services: [{ service: Health, impl }],
    keys: () => [],
    budget: new RequestBudget(READ_MAX_BYTES),
    readMaxBytes: READ_MAX_BYTES,
    metrics: new Metrics(),
    log: createLogger("warn"),
  });
  return (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => {
    if (!framed(req, res)) res.writeHead(404).end();
  };
}

/** The floor: read the framed request, decode it, encode and frame the answer, write the trailers. */
function plainHandler() {
  return (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      fromBinary(HealthCheckRequestSchema, body.subarray(5));
      const bytes = toBinary(HealthCheckResponseSchema, answer());
      const framed = Buffer.alloc(5 + bytes.length);
      framed.writeUInt32BE(bytes.length, 1);
      framed.set(bytes, 5);
      res.writeHead(200, { "content-type": "application/grpc+proto" });
      res.addTrailers({ "grpc-status": "0" });
      res.end(framed);
    });
  };
}

async function child(stack: Stack): Promise<void> {
  const port = await serve(stack);
  process.send?.({ port });
  // A normal exit, so that --cpu-prof writes its profile.
  process.on("SIGTERM", () => process.exit(0));
  process.on("message", (m: string) => {
    if (m === "cpu") {
      const u = process.cpuUsage();
      process.send?.({ cpuMs: (u.user + u.system) / 1000 });
    }
  });
}

interface Round {
  cpuMsPerCall: number;
  perSecond: number;
}

async function measure(stack: Stack): Promise<Round> {
  const proc = fork(fileURLToPath(import.meta.url), ["serve", stack], {
    execArgv: [...process.execArgv, ...(process.env.PROF_DIR ? ["--cpu-prof", `--cpu-prof-dir=${process.env.PROF_DIR}`] : [])],
  });
  const next = () => new Promise<{ port?: number; cpuMs?: number }>((resolve) => proc.once("message", resolve as never));
  try {
    const { port } = await next();
    const client = new BenchClient(port!);
    const run = async (calls: number) => {
      let left = calls;
      await Promise.all(
        Array.from({ length: IN_FLIGHT }, async () => {
          while (left-- > 0) await client.check();
        }),
      );
    };
    await run(2_000); // warm-up: JIT, connection
    proc.send("cpu");
    const before = (await next()).cpuMs!;
    const started = performance.now();
    await run(CALLS);
    const seconds = (performance.now() - started) / 1000;
    proc.send("cpu");
    const after = (await next()).cpuMs!;
    client.close();
    return { cpuMsPerCall: (after - before) / CALLS, perSecond: CALLS / seconds };
  } finally {
    proc.kill();
  }
}

async function main(): Promise<void> {
  const rounds: Record<Stack, Round[]> = { "connect-node": [], "framed path": [], "grpc-js": [], "node:http2": [] };
  const only = process.env.STACKS?.split(",") ?? STACKS;
  for (let r = 0; r < ROUNDS; r++) for (const stack of STACKS) if (only.includes(stack)) rounds[stack].push(await measure(stack));
  console.log(`| Stack | Server CPU per call (µs) | Calls/s | CPU ÷ connect-node |`);
  console.log(`| --- | --- | --- | --- |`);
  for (const stack of STACKS) {
    const cpu = median(rounds[stack].map((x) => x.cpuMsPerCall * 1000));
    const rate = median(rounds[stack].map((x) => x.perSecond));
    const ratio = median(rounds[stack].map((x, i) => x.cpuMsPerCall / rounds["connect-node"][i]!.cpuMsPerCall));
    console.log(`| ${stack} | ${cpu.toFixed(0)} | ${rate.toFixed(0)} | ${ratio.toFixed(2)} |`);
  }
}

if (process.argv[2] === "serve") void child(process.argv[3] as Stack);
else await main();
