// Text for the table: status names, bounce reason chips, relative times and dates.
import { OutboxStatus } from "../../gen/email/v1/outbox_pb.js";
import { DEFAULT_REASON_CLASS, isBounceReason } from "../../src/message/bounce-reasons.js";

/** "SENT", "FAILED", …: the enum name without its prefix, also used as a CSS class suffix. */
export function statusName(s: OutboxStatus): string {
  return OutboxStatus[s] ?? "UNKNOWN";
}

/**
 * A bounce reason as a chip ("blocked"), coloured by its default class (suppress, soft, sender),
 * with `title` (the report's status and diagnostic) as its tooltip. Text only, never markup.
 */
export function reasonChip(reason: string, title: string): HTMLSpanElement {
  const chip = document.createElement("span");
  chip.className = `reason-chip rc-${isBounceReason(reason) ? DEFAULT_REASON_CLASS[reason] : "none"}`;
  chip.dataset.reason = reason;
  chip.textContent = reason;
  chip.title = title;
  return chip;
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

const pad = (n: number) => String(n).padStart(2, "0");

/** "2026-12-02 17:31:05": local date and time to the second, in every time column. */
export function dateTime(when: Date): string {
  return `${when.getFullYear()}-${pad(when.getMonth() + 1)}-${pad(when.getDate())} ${pad(when.getHours())}:${pad(when.getMinutes())}:${pad(when.getSeconds())}`;
}

/** For tooltips: the same moment in UTC. */
export function utc(when: Date): string {
  return `${when.toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

/** "13 B", "2.0 KiB", "1.5 MiB": attachment sizes. */
export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const [size, unit] = n < 1024 * 1024 ? [1024, "KiB"] : [1024 * 1024, "MiB"];
  return `${(n / size).toFixed(1)} ${unit}`;
}

/** "14:05": the local time of a minute, for the chart. */
export function clock(when: Date): string {
  return `${pad(when.getHours())}:${pad(when.getMinutes())}`;
}
