// Reads a V8 .cpuprofile (node --cpu-prof) into self time by package or source folder, and the
// hottest functions: where the service spends its CPU.
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface Share {
  name: string;
  ms: number;
  percent: number;
}

/** "mysql2", "@connectrpc/connect-node", "src/outbox", "node internals", "(garbage collector)". */
function area(url: string, fn: string): string {
  if (!url) return fn.startsWith("(") ? fn : "native";
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
  if (pkg) return pkg;
  const own = /\/((?:src|gen)\/[^/]+)\//.exec(url)?.[1] ?? /\/(src|gen)\/[^/]+$/.exec(url)?.[1];
  if (own) return own;
  return url.startsWith("node:") ? "node internals" : url.replace(/^.*\//, "");
}

function top(totals: Map<string, number>, all: number, n: number): Share[] {
  return [...totals]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([name, us]) => ({ name, ms: us / 1000, percent: (100 * us) / all }));
}

/** Self time by area and by function; samples in the first `skipMs` (start-up, warm-up) are left out. */
export function summarizeProfile(file: string, skipMs: number, n = 12): { totalMs: number; byArea: Share[]; byFunction: Share[] } {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const areas = new Map<string, number>();
  const functions = new Map<string, number>();
  let all = 0;
  let elapsedUs = 0;
  profile.samples.forEach((id, i) => {
    const node = byId.get(id);
    const us = profile.timeDeltas[i] ?? 0;
    elapsedUs += us;
    if (elapsedUs < skipMs * 1000 || !node || node.callFrame.functionName === "(idle)") return;
    all += us;
    const { functionName, url, lineNumber } = node.callFrame;
    const where = area(url, functionName);
    areas.set(where, (areas.get(where) ?? 0) + us);
    const fn =
      `${functionName || "(anonymous)"} ${url ? `${url.replace(/^.*\/(node_modules\/|src\/)/, "$1")}:${lineNumber + 1}` : ""}`.trim();
    functions.set(fn, (functions.get(fn) ?? 0) + us);
  });
  return { totalMs: all / 1000, byArea: top(areas, all, n), byFunction: top(functions, all, n) };
}
