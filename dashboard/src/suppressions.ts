// The Suppressions panel: the chosen account's suppression list (ListSuppressions) — addresses
// that bounced hard, complained or were added by hand — with a Remove button for each
// (RemoveSuppression; later mail to the address is sent again). Text is set with textContent
// only: a bounce's diagnostic is a remote server's words, data, never markup.
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { ConnectError } from "@connectrpc/connect";
import { SuppressionReason, type Suppression } from "../../gen/email/v1/mailbox_service_pb.js";
import type { MailboxApi } from "./api.js";
import { dateTime } from "./format.js";
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
    private readonly ui: { section: HTMLElement; rows: HTMLTableSectionElement; title: HTMLElement; toasts: HTMLElement },
  ) {
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
      entries = (await this.api.listSuppressions({ accountId, pageSize: 100 })).suppressions;
    } catch (err) {
      this.ui.title.textContent = `Suppressed addresses: ${ConnectError.from(err).rawMessage}`;
      this.ui.rows.replaceChildren();
      return;
    }
    if (accountId !== this.accountId) return;
    this.ui.title.textContent = `Suppressed addresses of account ${accountId} (${entries.length}${entries.length === 100 ? "+" : ""})`;
    this.ui.rows.replaceChildren(...entries.map((s) => {
      const tr = el("tr");
      tr.dataset.address = s.address;
      tr.append(el("td", "address", s.address), el("td", "reason", reason(s.reason)),
        el("td", "num", s.outboxId ? `#${s.outboxId}` : ""), el("td", "error", s.detail),
        el("td", "since", s.createTime ? dateTime(timestampDate(s.createTime)) : ""));
      const actions = el("td");
      const button = el("button", "quiet", "Remove");
      button.dataset.remove = s.address;
      actions.append(button);
      tr.append(actions);
      return tr;
    }));
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
