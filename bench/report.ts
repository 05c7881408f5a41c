// The results: one line per figure (median, min, max over repetitions, and a target if it has
// one), printed as a table and written to bench/results/latest.md and latest.json.
import { mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Figure } from "./stats.js";

export interface Target {
  op: ">=" | "<=";
  value: number;
}

export interface Line {
  /** The issue's row number ("1".."7"). */
  row: string;
  name: string;
  unit: string;
  figure: Figure;
  target?: Target;
}

export interface Report {
  command: string;
  mode: "default" | "quick";
  startedAt: string;
  durationS: number;
  machine: Record<string, string>;
  settings: Record<string, unknown>;
  lines: Line[];
  /** Rows skipped, targets missed and what explains them. */
  notes: string[];
  /** --profile: a markdown section on where the service's time goes. */
  profile?: { markdown: string; data: unknown };
}

const RESULTS = fileURLToPath(new URL("./results/", import.meta.url));

export function met(line: Line): boolean | undefined {
  if (!line.target || !Number.isFinite(line.figure.median)) return undefined;
  return line.target.op === ">=" ? line.figure.median >= line.target.value : line.figure.median <= line.target.value;
}

function num(v: number): string {
  if (!Number.isFinite(v)) return "–";
  const abs = Math.abs(v);
  return abs >= 100 ? v.toFixed(0) : abs >= 10 ? v.toFixed(1) : v.toFixed(2);
}

function cells(line: Line): string[] {
  const ok = met(line);
  const target = line.target ? `${line.target.op === ">=" ? "≥" : "≤"} ${line.target.value}` : "";
  const verdict = ok === undefined ? "" : ok ? "met" : "missed";
  const { median, min, max, runs } = line.figure;
  return [line.row, line.name, line.unit, num(median), num(min), num(max), String(runs.length), target, verdict];
}

const HEAD = ["#", "Figure", "Unit", "Median", "Min", "Max", "Runs", "Target", "Met"];

export function markdownTable(lines: Line[]): string {
  const rows = [HEAD, HEAD.map(() => "---"), ...lines.map(cells)];
  return rows.map((r) => `| ${r.join(" | ")} |`).join("\n");
}

/** A fixed-width table for the terminal. */
export function textTable(lines: Line[]): string {
  const rows = [HEAD, ...lines.map(cells)];
  const widths = HEAD.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const numeric = new Set([3, 4, 5, 6]);
  return rows
    .map((r) =>
      r
        .map((cell, c) => (numeric.has(c) ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!)))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

export function markdownReport(r: Report): string {
  const machine = Object.entries(r.machine)
    .map(([k, v]) => `- ${k}: ${v}`)
    .join("\n");
  const notes = r.notes.length ? `\n\n## Notes\n\n${r.notes.map((n) => `- ${n}`).join("\n")}` : "";
  return (
    `# Benchmark results\n\n\`${r.command}\` (${r.mode} mode), started ${r.startedAt}, took ${r.durationS.toFixed(0)} s.\n\n` +
    `${markdownTable(r.lines)}\n\nMedian, min and max are over the repetitions (Runs); ratios are per round (paired runs), ` +
    `then the median of those.\n\n## Machine\n\n${machine}${notes}\n${r.profile ? `\n${r.profile.markdown}` : ""}`
  );
}

export function writeReport(r: Report): string[] {
  mkdirSync(RESULTS, { recursive: true });
  const md = `${RESULTS}latest.md`;
  const json = `${RESULTS}latest.json`;
  writeFileSync(md, markdownReport(r));
  const data = { ...r, lines: r.lines.map((l) => ({ ...l, met: met(l) })), profile: r.profile?.data };
  writeFileSync(json, `${JSON.stringify(data, null, 2)}\n`);
  return [md, json];
}
