// --profile: one row-1 run of the service under `node --cpu-prof` with its SQL statements
// counted, to show where the time of a message goes (CPU by package, statements per message).
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { startOurs } from "./contenders.js";
import { summarizeProfile, type Share } from "./cpu-profile.js";
import { measureDelivery } from "./delivery.js";
import { nowMs } from "./mail.js";
import { progress, ticker } from "./progress.js";
import type { Settings } from "./settings.js";
import type { BenchSink } from "./sink.js";

export interface ProfileResult {
  messages: number;
  perSecond: number;
  /** CPU the service process used per message (from /proc, not from the profile's samples). */
  cpuMsPerMessage: number;
  byArea: Share[];
  byFunction: Share[];
  /** SQL statements per message by kind ("COMMIT", "UPDATE outbox", …), over the whole process life. */
  statementsPerMessage: Record<string, number>;
}

export async function profilePhase(sink: BenchSink, s: Settings): Promise<ProfileResult> {
  const dir = mkdtempSync(path.join(tmpdir(), "email-outbox-profile-"));
  const queryCountsFile = path.join(dir, "queries.json");
  try {
    progress("profile: starting the service under --cpu-prof with SQL statements counted");
    const spawnedAt = nowMs();
    const ours = await startOurs(sink, "profile", { cpuProfileDir: dir, queryCountsFile });
    let perSecond: number;
    let cpuMs: number;
    let skipMs: number;
    const stop = ticker("profile", () => `${sink.count}/${s.messages} accepted`);
    try {
      await measureDelivery(sink, ours.submit, s.warmUp, { inFlight: s.inFlight }, s.deliveryTimeoutMs);
      skipMs = nowMs() - spawnedAt;
      const before = ours.stats().cpuMs;
      perSecond = (await measureDelivery(sink, ours.submit, s.messages, { inFlight: s.inFlight }, s.deliveryTimeoutMs)).perSecond;
      cpuMs = ours.stats().cpuMs - before;
    } finally {
      stop();
      await ours.stop();
    }
    const profileFile = readdirSync(dir).find((f) => f.endsWith(".cpuprofile"));
    if (!profileFile) throw new Error("the service wrote no CPU profile");
    const summary = summarizeProfile(path.join(dir, profileFile), skipMs);
    const counts = JSON.parse(readFileSync(queryCountsFile, "utf8")) as Record<string, number>;
    const statementsPerMessage = Object.fromEntries(
      Object.entries(counts)
        .sort((a, b) => b[1] - a[1])
        .map(([k, v]) => [k, Math.round((v / (s.messages + s.warmUp)) * 1000) / 1000]),
    );
    return {
      messages: s.messages,
      perSecond,
      cpuMsPerMessage: cpuMs / s.messages,
      byArea: summary.byArea,
      byFunction: summary.byFunction,
      statementsPerMessage,
    };
  } finally {
    if (process.env.BENCH_KEEP_PROFILE) progress(`profile: kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

export function profileMarkdown(p: ProfileResult): string {
  const shares = (list: Share[]) => list.map((x) => `| ${x.name} | ${x.ms.toFixed(0)} | ${x.percent.toFixed(1)} |`).join("\n");
  const statements = Object.entries(p.statementsPerMessage)
    .map(([k, v]) => `| ${k} | ${v} |`)
    .join("\n");
  return (
    `## Profile of one row-1 run (${p.messages} messages, ${p.perSecond.toFixed(0)} msg/s)\n\n` +
    `Service CPU per message: ${p.cpuMsPerMessage.toFixed(2)} ms (from /proc). Self time below is from the profile's ` +
    `samples after start-up and warm-up; on a loaded machine a sample's time includes moments the process waited for a core.\n\n` +
    `| Where (self time) | ms | % |\n| --- | --- | --- |\n${shares(p.byArea)}\n\n` +
    `| Hottest functions | ms | % |\n| --- | --- | --- |\n${shares(p.byFunction)}\n\n` +
    `| SQL statement | per message |\n| --- | --- |\n${statements}\n`
  );
}
