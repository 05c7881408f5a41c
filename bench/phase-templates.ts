// Row 10, templates: Sends naming a stored template (rendered when accepted: a loop, a formatted
// number, the text part derived from the HTML) against plain Sends of the same message (its
// rendered subject, HTML and text given), on one service in the same run, alternating which goes
// first: delivered to the sink at 32 calls in flight, as row 1, and the Send RPC alone (rows
// scheduled a day ahead, as row 5), where the render's cost is the largest share.
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { TemplateService } from "../gen/email/v1/template_service_pb.js";
import { startOurs, type Ours } from "./contenders.js";
import { measureDelivery } from "./delivery.js";
import { closedLoop } from "./load.js";
import { nowMs } from "./mail.js";
import type { PhaseContext, PhaseResult } from "./phase.js";
import { progress } from "./progress.js";
import { figure, ratio } from "./stats.js";

const ITEMS = [
  { title: "Green tea", price: 3.5 },
  { title: "Crème brûlée", price: 6.25 },
  { title: "Espresso", price: 2.1 },
];
const RECEIPT = {
  subject: "Receipt {{i}} for {{name}}",
  html:
    "<h1>Thank you, {{name}}</h1><p>Your order {{i}}:</p><ul>{{#each items}}<li>{{title}}: {{formatNumber price style='currency' currency='EUR'}}</li>{{/each}}</ul>" +
    '<p><a href="https://shop.example/orders/{{i}}">See your order</a></p>',
};

/** What the template renders for message i, for the plain Send. */
function rendered(i: number) {
  const euros = (n: number) => new Intl.NumberFormat("en-US", { style: "currency", currency: "EUR" }).format(n);
  return {
    subject: `Receipt ${i} for Ada`,
    body_html:
      `<h1>Thank you, Ada</h1><p>Your order ${i}:</p><ul>${ITEMS.map((it) => `<li>${it.title}: ${euros(it.price)}</li>`).join("")}</ul>` +
      `<p><a href="https://shop.example/orders/${i}">See your order</a></p>`,
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

type Kind = "plain" | "templated";
interface Run {
  delivered: number;
  enqueued: number;
  cpuMs: number;
}

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
  const runs: Record<Kind, Run[]> = { plain: [], templated: [] };
  try {
    const templates = createClient(TemplateService, createGrpcTransport({ baseUrl: `http://127.0.0.1:${ours.service.proc.port}` }));
    await templates.createTemplate({ accountId: 1, name: "receipt", content: RECEIPT });
    const tomorrow = { seconds: String(Math.floor(Date.now() / 1000) + 86_400), nanos: 0 };
    const base = (i: number) => ({ account_id: 1, to: [`rcpt${i}@example.com`] });
    const requests: Record<Kind, (i: number) => Record<string, unknown>> = {
      plain: (i) => ({ ...base(i), ...rendered(i) }),
      templated: (i) => ({ ...base(i), template: { name: "receipt", data: struct({ i, name: "Ada", items: ITEMS }) } }),
    };
    let next = 0;
    const run = async (kind: Kind) => {
      const submit = async (i: number) => (await ours.client.send(requests[kind](i))).outbox.outbox_id;
      const delivery = await measureDelivery(
        sink,
        (k) => submit(next + k),
        s.templateMessages,
        { inFlight: s.inFlight },
        s.deliveryTimeoutMs,
      );
      next += s.templateMessages;
      const rpc = await sendRate(ours, s.rpcCalls, s.inFlight, (i) => ({ ...requests[kind](i), send_at: tomorrow }), next);
      next += s.rpcCalls;
      runs[kind].push({ delivered: delivery.perSecond, enqueued: rpc.rate, cpuMs: rpc.cpuMs });
    };
    // Warm-up: both paths compiled, the template cached.
    await measureDelivery(
      sink,
      async (k) => (await ours.client.send(requests[k % 2 ? "plain" : "templated"](next + k))).outbox.outbox_id,
      s.warmUp,
      { inFlight: s.inFlight },
      s.deliveryTimeoutMs,
    );
    next += s.warmUp;
    while (slice.another(s.reps, "Row 10 templates", notes)) {
      const order: Kind[] = slice.round % 2 ? ["plain", "templated"] : ["templated", "plain"];
      for (const kind of order) await run(kind);
      const [p, t] = [runs.plain.at(-1)!, runs.templated.at(-1)!];
      progress(
        `row 10 round ${slice.round}/${s.reps}: delivered plain ${p.delivered.toFixed(0)}/s, templated ${t.delivered.toFixed(0)}/s; ` +
          `Send RPC plain ${p.enqueued.toFixed(0)}/s, templated ${t.enqueued.toFixed(0)}/s`,
      );
    }
  } finally {
    await ours.stop();
  }
  const fig = (kind: Kind, key: keyof Run) => figure(runs[kind].map((r) => r[key]));
  return {
    lines: [
      {
        row: "10",
        name: "Plain Send → accepted by the sink (subject, HTML and text given)",
        unit: "msg/s",
        figure: fig("plain", "delivered"),
      },
      {
        row: "10",
        name: "Templated Send → accepted by the sink (same message from a stored template, text derived)",
        unit: "msg/s",
        figure: fig("templated", "delivered"),
      },
      {
        row: "10",
        name: "Templated ÷ plain Send (delivered)",
        unit: "×",
        figure: ratio(fig("templated", "delivered"), fig("plain", "delivered")),
        target: { op: ">=", value: 0.9 },
      },
      { row: "10", name: "Plain Send RPC (enqueue only, scheduled a day ahead)", unit: "calls/s", figure: fig("plain", "enqueued") },
      { row: "10", name: "Templated Send RPC (enqueue only)", unit: "calls/s", figure: fig("templated", "enqueued") },
      {
        row: "10",
        name: "Templated ÷ plain Send RPC (enqueue only: the render's share at its largest)",
        unit: "×",
        figure: ratio(fig("templated", "enqueued"), fig("plain", "enqueued")),
      },
      { row: "10", name: "Service CPU per plain Send (enqueue only)", unit: "ms", figure: fig("plain", "cpuMs") },
      { row: "10", name: "Service CPU per templated Send (enqueue only)", unit: "ms", figure: fig("templated", "cpuMs") },
    ],
    notes,
  };
}
