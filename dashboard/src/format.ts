// Text for the table: status names, relative and absolute times.
import { OutboxStatus } from "../../gen/email/v1/outbox_pb.js";

/** "SENT", "FAILED", …: the enum name without its prefix, also used as a CSS class suffix. */
export function statusName(s: OutboxStatus): string {
  return OutboxStatus[s] ?? "UNKNOWN";
}

const UNITS: [number, string][] = [
  [86_400_000, "d"],
  [3_600_000, "h"],
  [60_000, "min"],
  [1000, "s"],
];

/** "in 9 s", "3 min ago", "now". */
export function relative(when: Date, now: number): string {
  const delta = when.getTime() - now;
  const abs = Math.abs(delta);
  if (abs < 1000) return "now";
  const [size, unit] = UNITS.find(([ms]) => abs >= ms)!;
  const n = Math.floor(abs / size);
  return delta > 0 ? `in ${n} ${unit}` : `${n} ${unit} ago`;
}

/** Local date and time to the second, for tooltips and the updated column. */
export function absolute(when: Date): string {
  return when.toLocaleString(undefined, { hour12: false });
}

export function clock(when: Date): string {
  return when.toLocaleTimeString(undefined, { hour12: false });
}
