// Row 6, attachments: concurrent Sends that each carry one large attachment (the policy's
// maximum, 25 MiB, by default), from Send to acceptance by the sink, and the service's peak RSS.
// Each round runs on a fresh service so the peak is that round's own.
import { randomBytes } from "node:crypto";
import { startOurs } from "./contenders.js";
import { measureDelivery } from "./delivery.js";
import { sendRequest } from "./grpc.js";
import { benchMessage } from "./mail.js";
import type { PhaseContext, PhaseResult } from "./phase.js";
import { progress, ticker } from "./progress.js";
import { figure } from "./stats.js";

export async function attachmentPhase({ sink, s, slice }: PhaseContext): Promise<PhaseResult> {
  const notes: string[] = [];
  const content = randomBytes(s.attachmentBytes);
  const mib = (s.attachmentBytes / 2 ** 20).toFixed(0);
  const total: number[] = [];
  const p50: number[] = [];
  const peak: number[] = [];
  const idle: number[] = [];
  while (slice.another(s.reps, "Row 6 attachments", notes)) {
    const round = slice.round;
    const ours = await startOurs(sink, `attach${round}`);
    try {
      idle.push(ours.stats().rssMiB);
      const attach = (i: number) =>
        ours.client.send(
          sendRequest(benchMessage(i), { attachments: [{ filename: `file${i}.pdf`, content_type: "application/pdf", content }] }),
        );
      const stop = ticker(`row 6 attachments round ${round}/${s.reps}`, () => `${sink.count}/${s.attachmentSends} accepted`);
      try {
        const d = await measureDelivery(
          sink,
          async (i) => (await attach(i)).outbox.outbox_id,
          s.attachmentSends,
          { inFlight: s.attachmentSends },
          s.deliveryTimeoutMs,
        );
        total.push(s.attachmentSends / d.perSecond);
        p50.push(d.p50Ms / 1000);
      } finally {
        stop();
      }
      peak.push(ours.stats().peakMiB);
      progress(
        `row 6 attachments round ${round}/${s.reps}: all ${s.attachmentSends} in ${total.at(-1)!.toFixed(1)} s, peak RSS ${peak.at(-1)!.toFixed(0)} MiB`,
      );
    } finally {
      await ours.stop();
    }
  }
  const label = `${s.attachmentSends} concurrent Sends × ${mib} MiB`;
  return {
    lines: [
      { row: "6", name: `Attachments (${label}): first Send → last accepted`, unit: "s", figure: figure(total) },
      { row: "6", name: "Attachments: Send → accepted p50", unit: "s", figure: figure(p50) },
      { row: "6", name: "Attachments: service RSS at start", unit: "MiB", figure: figure(idle) },
      { row: "6", name: "Attachments: service peak RSS (VmHWM)", unit: "MiB", figure: figure(peak) },
    ],
    notes,
  };
}
