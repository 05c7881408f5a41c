// The TypeScript client as users get it: `npm pack` of clients/typescript, installed into a
// scratch project outside the repository, calling the live server from a plain .mjs file and from
// a TypeScript file that tsc type-checks (and compiles) against the package's .d.ts.
import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, test } from "vitest";
import { DOMAIN, startClientFixture, type ClientFixture } from "./fixture.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const TSC = path.join(ROOT, "node_modules", ".bin", "tsc");
const run = promisify(execFile);
const scratch = mkdtempSync(path.join(tmpdir(), "email-outbox-client-"));
let f: ClientFixture;

beforeAll(async () => {
  f = await startClientFixture("ts_package");
  await run("npm", ["pack", "--pack-destination", scratch], { cwd: path.join(ROOT, "clients", "typescript"), timeout: 120_000 });
  const tarball = readdirSync(scratch).find((n) => n.endsWith(".tgz"))!;
  writeFileSync(path.join(scratch, "package.json"), JSON.stringify({ name: "scratch", private: true, type: "module" }));
  await run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", `./${tarball}`, "@types/node@20.19.43"], {
    cwd: scratch,
    timeout: 150_000,
  });
}, 300_000);
afterAll(async () => {
  await f?.close();
  rmSync(scratch, { recursive: true, force: true });
});

/** Runs a script in the scratch project; it prints one JSON line. */
async function call(file: string): Promise<Record<string, unknown>> {
  const { stdout } = await run(process.execPath, [file], {
    cwd: scratch,
    env: { ...process.env, URL_: f.t.url, KEY: f.apiKey },
    timeout: 60_000,
  });
  return JSON.parse(stdout) as Record<string, unknown>;
}

// The scripts end only when nothing is left open: waitForOutcome must close its watch (the signal
// alone would hold them for ten minutes, past the test's limit).
const BODY = `
const client = createEmailClient({ baseUrl: process.env.URL_!, apiKey: process.env.KEY });
const { outbox } = await client.send({ accountId: 1, to: ["bob@example.com"], subject: "from the package", bodyText: "hi" });
const outcome = await waitForOutcome(client, outbox!.outboxId, { signal: AbortSignal.timeout(600_000) });
const refused = await client.send({ accountId: 1, to: ["nope"], subject: "x", bodyText: "y" }).catch((e: unknown) => e);
console.log(JSON.stringify({ status: OutboxStatus[outcome.status], messageId: outcome.messageId, reason: errorReason(refused) }));
`;
const IMPORT = `import { createEmailClient, errorReason, OutboxStatus, waitForOutcome } from "email-outbox-client";\n`;

test("the package installs with only its runtime dependencies and ships .js and .d.ts", () => {
  const dist = path.join(scratch, "node_modules", "email-outbox-client", "dist", "src");
  expect(readdirSync(dist)).toEqual(expect.arrayContaining(["index.js", "index.d.ts"]));
  expect(readdirSync(path.join(dist, "client"))).toEqual(expect.arrayContaining(["client.js", "client.d.ts"]));
  const deps = readdirSync(path.join(scratch, "node_modules"));
  for (const devOnly of ["tsx", "mysql2", "nodemailer", "pino", "vitest"]) expect(deps).not.toContain(devOnly);
});

test("a plain .mjs file imports it by name and calls the live server", { timeout: 60_000 }, async () => {
  // The same code without the TypeScript-only syntax.
  writeFileSync(
    path.join(scratch, "call.mjs"),
    IMPORT + BODY.replace("process.env.URL_!", "process.env.URL_").replace("outbox!", "outbox").replace("(e: unknown)", "(e)"),
  );
  const out = await call("call.mjs");
  expect(out).toEqual({
    status: "SENT",
    messageId: expect.stringMatching(new RegExp(`^<outbox-\\d+-0@${DOMAIN}>$`)) as unknown,
    reason: "ADDRESS_INVALID",
  });
  expect(f.received(out.messageId as string)?.parsed.subject).toBe("from the package");
});

test("a TypeScript file type-checks against the .d.ts with tsc and calls the live server", { timeout: 120_000 }, async () => {
  writeFileSync(path.join(scratch, "call.ts"), IMPORT + BODY);
  writeFileSync(
    path.join(scratch, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true, types: ["node"], outDir: "out" },
      files: ["call.ts"],
    }),
  );
  // A type error in the package's .d.ts or in its use fails here; skipLibCheck is off.
  await run(TSC, ["-p", "tsconfig.json"], { cwd: scratch, timeout: 100_000 });
  // And a misuse is refused by the same types.
  writeFileSync(path.join(scratch, "bad.ts"), `${IMPORT}createEmailClient({ baseUrl: 1 });\n`);
  writeFileSync(
    path.join(scratch, "tsconfig.bad.json"),
    JSON.stringify({ extends: "./tsconfig.json", compilerOptions: { noEmit: true }, files: ["bad.ts"] }),
  );
  await expect(run(TSC, ["-p", "tsconfig.bad.json"], { cwd: scratch })).rejects.toMatchObject({
    stdout: expect.stringMatching(/bad\.ts.*error TS2322.*number.*string/s) as unknown,
  });
  const out = await call("out/call.js");
  expect(out).toMatchObject({ status: "SENT", reason: "ADDRESS_INVALID" });
});
