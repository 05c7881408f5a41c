// Sent and failed per minute over the last hour (GetOutboxActivity), as plain SVG: one stacked
// bar per minute, failed on top of sent, scaled to the busiest minute.
import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { ActivityMinute } from "../../gen/email/v1/email_service_pb.js";
import { clock } from "./format.js";

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 960;
const SLOT = 16;
const BAR = 12;
const TOP = 12;
const PLOT = 56;
const HEIGHT = TOP + PLOT + 14;

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, text?: string): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

export function renderActivity(host: SVGSVGElement, legend: HTMLElement, minutes: readonly ActivityMinute[]): void {
  host.setAttribute("viewBox", `0 0 ${WIDTH} ${HEIGHT}`);
  const max = Math.max(1, ...minutes.map((m) => m.sent + m.failed));
  const y = (n: number) => (n / max) * PLOT;
  const nodes: SVGElement[] = [svg("line", { class: "axis", x1: 0, x2: WIDTH, y1: TOP + PLOT + 0.5, y2: TOP + PLOT + 0.5 })];
  minutes.forEach((m, i) => {
    const start = m.startTime ? timestampDate(m.startTime) : undefined;
    const g = svg("g", { class: "minute", "data-sent": m.sent, "data-failed": m.failed });
    const x = i * SLOT + (SLOT - BAR) / 2;
    g.append(svg("title", {}, `${start ? clock(start) : ""} · ${m.sent} sent, ${m.failed} failed`));
    // A full-height target, so an empty minute still has a tooltip.
    g.append(svg("rect", { class: "hit", x: i * SLOT, y: TOP, width: SLOT, height: PLOT }));
    if (m.sent) g.append(svg("rect", { class: "bar-sent", x, y: TOP + PLOT - y(m.sent), width: BAR, height: y(m.sent) }));
    if (m.failed) g.append(svg("rect", { class: "bar-failed", x, y: TOP + PLOT - y(m.sent + m.failed), width: BAR, height: y(m.failed) }));
    nodes.push(g);
  });
  const label = (i: number, anchor: string) => {
    const m = minutes[i];
    return svg(
      "text",
      { class: "label", x: anchor === "end" ? WIDTH : i * SLOT, y: HEIGHT - 2, "text-anchor": anchor },
      m?.startTime ? clock(timestampDate(m.startTime)) : "",
    );
  };
  nodes.push(
    label(0, "start"),
    label(30, "start"),
    label(minutes.length - 1, "end"),
    svg("text", { class: "label", x: 0, y: 9 }, `${max} / min`),
  );
  host.replaceChildren(...nodes);
  const sent = minutes.reduce((n, m) => n + m.sent, 0);
  const failed = minutes.reduce((n, m) => n + m.failed, 0);
  legend.replaceChildren(legendItem("sent", sent), legendItem("failed", failed));
  host.setAttribute("aria-label", `Last hour: ${sent} sent, ${failed} failed`);
}

function legendItem(kind: "sent" | "failed", n: number): HTMLSpanElement {
  const span = document.createElement("span");
  span.className = `legend-${kind}`;
  span.dataset.total = String(n);
  span.textContent = `${n} ${kind}`;
  return span;
}
