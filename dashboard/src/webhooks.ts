// The Webhooks panel under the outbox table: the endpoints of the key's accounts and how they
// are doing (ListWebhookEndpoints), one endpoint's recent deliveries (ListWebhookDeliveries) and
// a Redeliver button for finished ones (RedeliverWebhooks, which also resumes a paused
// endpoint). Hidden while there are none (or the key may not read them). Text is set with
// textContent only: errors are the endpoint's words, data, never markup.
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { ConnectError } from "@connectrpc/connect";
import { WebhookDeliveryStatus, type WebhookEndpoint } from "../../gen/email/v1/webhook_service_pb.js";
import type { WebhooksApi } from "./api.js";
import { dateTime, relative } from "./format.js";
import { toast } from "./view.js";

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

const when = (t: Timestamp | undefined, now: number) => (t ? `${dateTime(timestampDate(t))} (${relative(timestampDate(t), now)})` : "");

function state(e: WebhookEndpoint, now: number): string {
  if (!e.enabled) return "disabled";
  if (e.paused) return "paused";
  return e.failingSince ? `failing since ${when(e.failingSince, now)}` : "ok";
}

export class WebhooksPanel {
  private chosen?: { accountId: number; endpointId: string };

  constructor(
    private readonly api: WebhooksApi,
    private readonly ui: {
      section: HTMLElement;
      endpoints: HTMLTableSectionElement;
      deliveries: HTMLTableSectionElement;
      title: HTMLElement;
      toasts: HTMLElement;
    },
  ) {
    ui.endpoints.addEventListener("click", (ev) => {
      const tr = (ev.target as HTMLElement).closest<HTMLTableRowElement>("tr[data-endpoint]");
      if (!tr) return;
      this.chosen = { accountId: Number(tr.dataset.account), endpointId: tr.dataset.endpoint! };
      void this.loadDeliveries();
    });
    ui.deliveries.addEventListener("click", (ev) => {
      const button = (ev.target as HTMLElement).closest<HTMLButtonElement>("button[data-event]");
      if (button) void this.redeliver(BigInt(button.dataset.event!), button);
    });
  }

  /** Reads the endpoints again (after a key change, or on Refresh). */
  async load(): Promise<void> {
    let endpoints: WebhookEndpoint[];
    try {
      endpoints = (await this.api.listWebhookEndpoints({})).endpoints;
    } catch {
      endpoints = [];
    }
    this.ui.section.hidden = endpoints.length === 0;
    const now = Date.now();
    this.ui.endpoints.replaceChildren(
      ...endpoints.map((e) => {
        const tr = el("tr");
        tr.dataset.account = String(e.accountId);
        tr.dataset.endpoint = e.endpointId;
        tr.dataset.state = !e.enabled ? "disabled" : e.paused ? "paused" : e.failingSince ? "failing" : "ok";
        tr.append(
          el("td", "num", String(e.accountId)),
          el("td", "endpoint", e.endpointId),
          el("td", "origin", e.origin),
          el("td", "state", state(e, now)),
          el("td", "oldest", when(e.oldestUndeliveredTime, now)),
        );
        const show = el("td");
        show.append(el("button", "quiet", "Deliveries"));
        tr.append(show);
        return tr;
      }),
    );
    if (this.chosen) await this.loadDeliveries();
  }

  private async loadDeliveries(): Promise<void> {
    const chosen = this.chosen!;
    this.ui.title.textContent = `Deliveries to ${chosen.endpointId} (account ${chosen.accountId})`;
    try {
      const res = await this.api.listWebhookDeliveries({ ...chosen, pageSize: 50 });
      const now = Date.now();
      this.ui.deliveries.replaceChildren(
        ...res.deliveries.map((d) => {
          const tr = el("tr");
          const status = WebhookDeliveryStatus[d.status] ?? "UNKNOWN";
          tr.dataset.event = String(d.eventId);
          tr.dataset.status = status;
          tr.append(
            el("td", "num", String(d.eventId)),
            el("td", "num", `#${d.outboxId}`),
            el("td", "status", status),
            el("td", "num attempts", String(d.attempts)),
            el("td", "num", d.lastHttpStatus ? String(d.lastHttpStatus) : ""),
            el("td", "error", d.lastError),
            el("td", "next", when(d.nextAttemptTime, now)),
          );
          const actions = el("td");
          if (d.status === WebhookDeliveryStatus.DELIVERED || d.status === WebhookDeliveryStatus.FAILED) {
            const button = el("button", "quiet", "Redeliver");
            button.dataset.event = String(d.eventId);
            actions.append(button);
          }
          tr.append(actions);
          return tr;
        }),
      );
    } catch (err) {
      toast(this.ui.toasts, `Deliveries: ${ConnectError.from(err).rawMessage}`, "error");
    }
  }

  private async redeliver(eventId: bigint, button: HTMLButtonElement): Promise<void> {
    button.disabled = true;
    try {
      const { redelivered } = await this.api.redeliverWebhooks({ ...this.chosen!, fromEventId: eventId });
      toast(this.ui.toasts, `Redeliver event ${eventId}: ${redelivered ? "due now" : "nothing finished to send again"}`, "ok");
      await this.load();
    } catch (err) {
      toast(this.ui.toasts, `Redeliver event ${eventId}: ${ConnectError.from(err).rawMessage}`, "error");
      button.disabled = false;
    }
  }
}
