// `npm run bench`: the service against a BullMQ + nodemailer peer and a bare nodemailer ceiling,
// in one run on this machine. Progress goes to stderr; the table to stdout and to
// bench/results/latest.md and latest.json. Options (after `--`):
//   --quick          smaller runs, about a minute
//   --only 1,4       only the phases measuring these rows ("profile": only the profile;
//                    "outbox_request": only the outbox_request row)
//   --budget 600     the time budget in seconds (default 285, quick 55)
//   --profile        also profile one row-1 run of the service (CPU, SQL statements per message)
import { Budget } from "./budget.js";
import { describeMachine, loadAverage } from "./machine.js";
import { redisVersion } from "./peer.js";
import type { PhaseContext, PhaseResult } from "./phase.js";
import { attachmentPhase } from "./phase-attachments.js";
import { backlogPhase } from "./phase-backlog.js";
import { deliveryPhase } from "./phase-delivery.js";
import { idleAndRpcPhase } from "./phase-idle-rpc.js";
import { profileMarkdown, profilePhase } from "./phase-profile.js";
import { watchPhase } from "./phase-watch.js";
import { webhookPhase } from "./phase-webhooks.js";
import { priorityPhase } from "./phase-priority.js";
import { outboxRequestPhase } from "./phase-outbox-request.js";
import { templatePhase } from "./phase-templates.js";
import { progress } from "./progress.js";
import { textTable, writeReport, type Report } from "./report.js";
import { DEFAULT_SETTINGS, QUICK_SETTINGS } from "./settings.js";
import { BenchSink } from "./sink.js";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const onlyAt = args.indexOf("--only");
const only = onlyAt >= 0 ? new Set((args[onlyAt + 1] ?? "").split(",")) : undefined;
const profile = args.includes("--profile") || only?.has("profile") === true;
const budgetAt = args.indexOf("--budget");
const base = quick ? QUICK_SETTINGS : DEFAULT_SETTINGS;
const settings = budgetAt >= 0 ? { ...base, budgetS: Number(args[budgetAt + 1]) } : base;

/** Phases by the rows they measure, and their weight in the time budget. */
const PHASES: { rows: string[]; weight: number; run: (ctx: PhaseContext) => Promise<PhaseResult> }[] = [
  { rows: ["1", "2", "7"], weight: 45, run: deliveryPhase },
  { rows: ["3", "5"], weight: 15, run: idleAndRpcPhase },
  { rows: ["4"], weight: 22, run: backlogPhase },
  { rows: ["6"], weight: 8, run: watchPhase },
  { rows: ["6"], weight: 10, run: attachmentPhase },
  { rows: ["8"], weight: 8, run: webhookPhase },
  { rows: ["9"], weight: 12, run: priorityPhase },
  { rows: ["outbox_request"], weight: 12, run: outboxRequestPhase },
  { rows: ["10"], weight: 6, run: templatePhase },
];

async function main(): Promise<void> {
  const startedAt = new Date();
  const redis = await redisVersion();
  const machine = await describeMachine(redis);
  progress(`${quick ? "quick" : "default"} run; machine: ${Object.values(machine).join(", ")}`);
  if (!redis) progress("Redis is not reachable at 127.0.0.1:6379: the BullMQ peer rows are skipped");
  const sink = new BenchSink();
  await sink.listen();
  const report: Report = {
    command: `npm run bench${args.length ? ` -- ${args.join(" ")}` : ""}`,
    mode: quick ? "quick" : "default",
    startedAt: startedAt.toISOString(),
    durationS: 0,
    machine,
    settings: { ...settings },
    lines: [],
    notes: [],
  };
  const phases = PHASES.filter((p) => !only || p.rows.some((r) => only.has(r)));
  const budget = new Budget(
    settings.budgetS * 1000 - (Date.now() - startedAt.getTime()),
    phases.map((p) => p.weight),
  );
  try {
    for (const phase of phases) {
      const result = await phase.run({ sink, s: settings, redis: redis !== undefined, slice: budget.slice(phase.weight) });
      report.lines.push(...result.lines);
      report.notes.push(...result.notes);
    }
    if (profile) {
      const data = await profilePhase(sink, settings);
      report.profile = { markdown: profileMarkdown(data), data };
      process.stdout.write(`${report.profile.markdown}\n`);
    }
  } finally {
    await sink.close();
  }
  report.durationS = (Date.now() - startedAt.getTime()) / 1000;
  report.machine["load average at end (1/5/15 min)"] = loadAverage();
  const files = writeReport(report);
  process.stdout.write(`${textTable(report.lines)}\n${report.notes.map((n) => `note: ${n}\n`).join("")}`);
  progress(`done in ${report.durationS.toFixed(0)} s; wrote ${files.join(", ")}`);
}

main().catch((err: unknown) => {
  progress(`benchmark failed: ${(err as Error).stack ?? String(err)}`);
  process.exitCode = 1;
});
