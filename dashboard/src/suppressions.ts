// The Suppressions panel: the chosen account's suppression list (ListSuppressions) — addresses
// that bounced for good, complained, soft-bounced too often or were added by hand — with the
// bounce reason of each, a filter by bounce reason ("none": manual entries and those the old
// every-5.x.x rule made), and a Remove button for each (RemoveSuppression; later mail to the
// address is sent again). Text is set with textContent only: a bounce's diagnostic is a remote
// server's words, data, never markup.
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { ConnectError } from "@connectrpc/connect";
import { SuppressionReason, type Suppression } from "../../gen/email/v1/mailbox_service_pb.js";
import { BounceReason } from "../../gen/email/v1/outbox_pb.js";
import { BOUNCE_REASONS } from "../../src/message/bounce-reasons.js";
import { bounceReasonName } from "../../src/client/reasons.js";
import type { MailboxApi } from "./api.js";
import { dateTime, reasonChip } from "./format.js";
import { toast } from "./view.js";

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

const reason = (r: SuppressionReason) => (SuppressionReason[r] ?? "UNKNOWN").toLowerCase().replace("_", " ");

export class SuppressionsPanel {
  private accountId = 0;

  constructor(
    private readonly api: MailboxApi,
    private readonly ui: {
      section: HTMLElement;
      rows: HTMLTableSectionElement;
      title: HTMLElement;
      toasts: HTMLElement;
      filter: HTMLSelectElement;
    },
  ) {
    const option = (value: string, text: string) => Object.assign(el("option", undefined, text), { value });
    ui.filter.replaceChildren(
      option("", "any bounce reason"),
      option("none", "none (manual, or listed by the old rule)"),
      ...BOUNCE_REASONS.map((r) => option(r, r)),
    );
    ui.filter.addEventListener("change", () => void this.load(this.accountId));
    ui.rows.addEventListener("click", (ev) => {
      const button = (ev.target as HTMLElement).closest<HTMLButtonElement>("button[data-remove]");
      if (button) void this.remove(button.dataset.remove!, button);
    });
  }

  /** Shows the list of one account (0: none chosen, the panel asks for one). */
  async load(accountId: number): Promise<void> {
    this.accountId = accountId;
    if (accountId === 0) {
      this.ui.title.textContent = "Suppressed addresses: pick an account";
      this.ui.rows.replaceChildren();
      return;
    }
    let entries: Suppression[];
    try {
      const picked = this.ui.filter.value;
      const bounceReasons =
        picked === ""
          ? []
          : [picked === "none" ? BounceReason.UNSPECIFIED : BounceReason[picked.toUpperCase() as keyof typeof BounceReason]];
      entries = (await this.api.listSuppressions({ accountId, pageSize: 100, bounceReasons })).suppressions;
    } catch (err) {
      this.ui.title.textContent = `Suppressed addresses: ${ConnectError.from(err).rawMessage}`;
      this.ui.rows.replaceChildren();
      return;
    }
    if (accountId !== this.accountId) return;
    this.ui.title.textContent = `Suppressed addresses of account ${accountId} (${entries.length}${entries.length === 100 ? "+" : ""})`;
    this.ui.rows.replaceChildren(
      ...entries.map((s) => {
        const tr = el("tr");
        tr.dataset.address = s.address;
        const bounce = el("td", "bounce-reason");
        if (bounceReasonName(s.bounceReason)) bounce.append(reasonChip(bounceReasonName(s.bounceReason), s.detail));
        tr.append(
          el("td", "address", s.address),
          el("td", "reason", reason(s.reason)),
          bounce,
          el("td", "num", s.outboxId ? `#${s.outboxId}` : ""),
          el("td", "error", s.detail),
          el("td", "since", s.createTime ? dateTime(timestampDate(s.createTime)) : ""),
        );
        const actions = el("td");
        const button = el("button", "quiet", "Remove");
        button.dataset.remove = s.address;
        actions.append(button);
        tr.append(actions);
        return tr;
      }),
    );
  }

  private async remove(address: string, button: HTMLButtonElement): Promise<void> {
    button.disabled = true;
    try {
      await this.api.removeSuppression({ accountId: this.accountId, address });
      toast(this.ui.toasts, `${address} removed: mail to it is sent again`, "ok");
    } catch (err) {
      toast(this.ui.toasts, `Remove ${address}: ${ConnectError.from(err).rawMessage}`, "error");
    }
    await this.load(this.accountId);
  }
}
