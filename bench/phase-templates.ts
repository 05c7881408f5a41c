// Row 10, templates: the Send RPC naming a stored template (rendered when accepted: a loop, a
// formatted number, the text part derived from the HTML) against a plain Send of the same message
// (its rendered subject, HTML and text given), on one service in the same run, alternating which
// goes first. The rows are scheduled a day ahead, so only the accept path is measured.
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { TemplateService } from "../gen/email/v1/template_service_pb.js";
import { startOurs, type Ours } from "./contenders.js";
import { closedLoop } from "./load.js";
import { nowMs } from "./mail.js";
import type { PhaseContext, PhaseResult } from "./phase.js";
import { progress } from "./progress.js";
import { figure, ratio } from "./stats.js";

const ITEMS = [{ title: "Green tea", price: 3.5 }, { title: "Crème brûlée", price: 6.25 }, { title: "Espresso", price: 2.1 }];
const RECEIPT = {
  subject: "Receipt {{i}} for {{name}}",
  html: "<h1>Thank you, {{name}}</h1><p>Your order {{i}}:</p><ul>{{#each items}}<li>{{title}}: {{formatNumber price style='currency' currency='EUR'}}</li>{{/each}}</ul>"
    + "<p><a href=\"https://shop.example/orders/{{i}}\">See your order</a></p>",
};

/** What the template renders for message i, for the plain Send. */
function rendered(i: number) {
  const euros = (n: number) => new Intl.NumberFormat("en-US", { style: "currency", currency: "EUR" }).format(n);
  return {
    subject: `Receipt ${i} for Ada`,
    body_html: `<h1>Thank you, Ada</h1><p>Your order ${i}:</p><ul>${ITEMS.map((it) => `<li>${it.title}: ${euros(it.price)}</li>`).join("")}</ul>`
      + `<p><a href="https://shop.example/orders/${i}">See your order</a></p>`,
    body_text: `Thank you, Ada\n\nYour order ${i}:\n\n${ITEMS.map((it) => ` * ${it.title}: ${euros(it.price)}`).join("\n")}\n\nSee your order [https://shop.example/orders/${i}]`,
  };
}

/** A JSON value as google.protobuf.Value the way grpc-js (proto-loader) takes it. */
function value(v: unknown): Record<string, unknown> {
  if (typeof v === "string") return { stringValue: v };
  if (typeof v === "number") return { numberValue: v };
  if (Array.isArray(v)) return { listValue: { values: v.map(value) } };
  return { structValue: struct(v as Record<string, unknown>) };
}
const struct = (o: Record<string, unknown>) => ({ fields: Object.fromEntries(Object.entries(o).map(([k, v]) => [k, value(v)])) });

async function sendRate(ours: Ours, calls: number, inFlight: number, request: (i: number) => Record<string, unknown>, first: number) {
  const start = nowMs();
  const cpu = ours.stats().cpuMs;
  await closedLoop(calls, inFlight, async (k) => void (await ours.client.send(request(first + k))));
  return { rate: calls / ((nowMs() - start) / 1000), cpuMs: (ours.stats().cpuMs - cpu) / calls };
}

export async function templatePhase({ sink, s, slice }: PhaseContext): Promise<PhaseResult> {
  const notes: string[] = [];
  progress("row 10 templates: starting the service on a fresh database");
  const ours = await startOurs(sink, "templates");
  const plain: { rate: number; cpuMs: number }[] = [];
  const templated: { rate: number; cpuMs: number }[] = [];
  try {
    const templates = createClient(TemplateService, createGrpcTransport({ baseUrl: `http://127.0.0.1:${ours.service.proc.port}` }));
    await templates.createTemplate({ accountId: 1, name: "receipt", content: RECEIPT });
    const tomorrow = { seconds: String(Math.floor(Date.now() / 1000) + 86_400), nanos: 0 };
    const base = (i: number) => ({ account_id: 1, to: [`rcpt${i}@example.com`], send_at: tomorrow });
    const plainReq = (i: number) => ({ ...base(i), ...rendered(i) });
    const templatedReq = (i: number) => ({ ...base(i), template: { name: "receipt", data: struct({ i, name: "Ada", items: ITEMS }) } });
    let next = 0;
    const run = async (kind: "plain" | "templated") => {
      const r = await sendRate(ours, s.rpcCalls, s.inFlight, kind === "plain" ? plainReq : templatedReq, next);
      next += s.rpcCalls;
      (kind === "plain" ? plain : templated).push(r);
    };
    // Warm-up: both paths compiled and the template cached.
    await closedLoop(s.warmUp, s.inFlight, async (k) => void (await ours.client.send((k % 2 ? plainReq : templatedReq)(next + k))));
    next += s.warmUp;
    while (slice.another(s.reps, "Row 10 templates", notes)) {
      const order = slice.round % 2 ? (["plain", "templated"] as const) : (["templated", "plain"] as const);
      for (const kind of order) await run(kind);
      progress(`row 10 round ${slice.round}/${s.reps}: plain ${plain.at(-1)!.rate.toFixed(0)}/s, templated ${templated.at(-1)!.rate.toFixed(0)}/s`);
    }
  } finally {
    await ours.stop();
  }
  const plainFig = figure(plain.map((r) => r.rate));
  const templatedFig = figure(templated.map((r) => r.rate));
  return {
    lines: [
      { row: "10", name: "Plain Send RPC (enqueue only, subject + HTML + text given)", unit: "calls/s", figure: plainFig },
      { row: "10", name: "Templated Send RPC (same message rendered from a stored template, text derived)", unit: "calls/s", figure: templatedFig },
      { row: "10", name: "Templated ÷ plain Send", unit: "×", figure: ratio(templatedFig, plainFig), target: { op: ">=", value: 0.9 } },
      { row: "10", name: "Service CPU per plain Send", unit: "ms", figure: figure(plain.map((r) => r.cpuMs)) },
      { row: "10", name: "Service CPU per templated Send", unit: "ms", figure: figure(templated.map((r) => r.cpuMs)) },
    ],
    notes,
  };
}
