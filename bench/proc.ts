// CPU and memory of processes, from /proc: the contenders, and the Redis and MariaDB servers.
import { readdirSync, readFileSync } from "node:fs";

export interface ProcessStats {
  /** Resident set now, and its peak (VmHWM), in MiB. */
  rssMiB: number;
  peakMiB: number;
  /** User + system CPU time used so far, in ms. */
  cpuMs: number;
}

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ; 100 on Linux). */
const TICKS_PER_SECOND = 100;

/** Memory and CPU of a process from /proc (NaN where /proc is not available). */
export function processStats(pid: number): ProcessStats {
  const read = (file: string) => {
    try {
      return readFileSync(`/proc/${pid}/${file}`, "utf8");
    } catch {
      return ""; // not Linux, or the process is gone
    }
  };
  const status = read("status");
  const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN);
  // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
  const fields = read("stat")
    .replace(/^.*\) /s, "")
    .split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  return { rssMiB: kib("VmRSS") / 1024, peakMiB: kib("VmHWM") / 1024, cpuMs: (ticks * 1000) / TICKS_PER_SECOND };
}

/** The pid of the first process whose command name is `comm` (e.g. "mariadbd"), if any. */
export function findProcess(comm: string): number | undefined {
  let entries: string[] = [];
  try {
    entries = readdirSync("/proc").filter((e) => /^\d+$/.test(e));
  } catch {
    return undefined;
  }
  for (const pid of entries) {
    try {
      if (readFileSync(`/proc/${pid}/comm`, "utf8").trim() === comm) return Number(pid);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}
