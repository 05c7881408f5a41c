// DOM rendering. Rows are keyed by outbox id and updated in place, so a button under the
// pointer is never replaced while the stream updates the table. Text is only ever set with
// textContent: subjects, addresses and errors are data, never markup.
import { OutboxStatus } from "../../gen/email/v1/outbox_pb.js";
import { dateTime, relative, reasonChip, statusName, utc } from "./format.js";
import { canCancel, canRetry, STATUSES, type RecipientView, type RowView } from "./model.js";

export type Action = "retry" | "cancel";

const COLUMNS = ["select", "id", "account", "status", "subject", "retries", "next", "error", "message-id", "updated", "actions"] as const;
type Column = (typeof COLUMNS)[number];

interface RowElements {
  tr: HTMLTableRowElement;
  cells: Record<Column, HTMLTableCellElement>;
  badge: HTMLSpanElement;
  select: HTMLInputElement;
  subject: HTMLDivElement;
  to: HTMLDivElement;
  /** The From it is sent with, and its tags. */
  from: HTMLDivElement;
  /** What reports said per recipient, each with its reason's chip; redrawn only when they change. */
  reports: HTMLDivElement;
  reportsKey: string;
  retry: HTMLButtonElement;
  cancel: HTMLButtonElement;
  version: number;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Sets text and tooltip only when they differ, so unchanged cells cost nothing. */
function setText(node: HTMLElement, text: string, title = ""): void {
  if (node.textContent !== text) node.textContent = text;
  if (node.title !== title) node.title = title;
}

export class OutboxTable {
  private readonly rows = new Map<bigint, RowElements>();

  constructor(private readonly tbody: HTMLTableSectionElement) {}

  /** `selected`: the rows whose checkbox is ticked (for Retry / Cancel selected). */
  render(views: readonly RowView[], now: number, selected: ReadonlySet<bigint>): void {
    const keep = new Set<bigint>();
    let before: ChildNode | null = this.tbody.firstChild;
    for (const view of views) {
      keep.add(view.id);
      const row = this.rows.get(view.id) ?? this.create(view);
      this.update(row, view, now);
      row.select.checked = selected.has(view.id);
      if (row.tr !== before) this.tbody.insertBefore(row.tr, before);
      before = row.tr.nextSibling;
    }
    for (const [id, row] of this.rows) {
      if (!keep.has(id)) {
        row.tr.remove();
        this.rows.delete(id);
      }
    }
  }

  private create(view: RowView): RowElements {
    const tr = el("tr");
    tr.dataset.outboxId = String(view.id);
    const cells = Object.fromEntries(COLUMNS.map((c) => [c, el("td", c)])) as Record<Column, HTMLTableCellElement>;
    for (const c of COLUMNS) tr.append(cells[c]);
    const select = el("input");
    select.type = "checkbox";
    select.dataset.select = "";
    select.setAttribute("aria-label", `Select message ${view.id}`);
    cells.select.append(select);
    // The id opens the detail view: headers, bodies, attachments and the timeline.
    const open = el("button", "link", String(view.id));
    open.dataset.view = "";
    open.title = "View this message";
    cells.id.append(open);
    const badge = el("span", "badge");
    cells.status.append(badge);
    const subject = el("div", "subject-text");
    const to = el("div", "to");
    const from = el("div", "from");
    const reports = el("div", "reports");
    cells.subject.append(subject, to, from, reports);
    const retry = el("button", "retry", "Retry");
    retry.dataset.action = "retry";
    retry.title = "Attempt now, even if not yet due";
    const cancel = el("button", "cancel quiet", "Cancel");
    cancel.dataset.action = "cancel";
    cells.actions.append(retry, cancel);
    const row = { tr, cells, badge, select, subject, to, from, reports, reportsKey: "", retry, cancel, version: view.version };
    this.rows.set(view.id, row);
    return row;
  }

  private update(row: RowElements, v: RowView, now: number): void {
    const status = statusName(v.status);
    row.tr.dataset.status = status;
    setText(row.cells.account, String(v.accountId));
    setText(row.badge, status);
    row.badge.className = `badge s-${status.toLowerCase()}`;
    setText(row.subject, v.details?.subject ?? "", v.details?.subject ?? "");
    setText(row.to, v.details?.to.join(", ") ?? "", v.details?.to.join(", ") ?? "");
    const tags = Object.entries(v.tags)
      .map(([name, value]) => `${name}=${value}`)
      .join(" ");
    const left = v.suppressed.length ? `suppressed ${v.suppressed.join(", ")}` : "";
    const relay = v.relay ? `relay ${v.relay}` : "";
    const from = [v.details ? `from ${v.details.from}` : "", relay, v.bulk ? "bulk" : "", tags, left].filter(Boolean).join(" · ");
    setText(row.from, from, from);
    const reportsKey = JSON.stringify(v.reports);
    if (row.reportsKey !== reportsKey) {
      row.reportsKey = reportsKey;
      row.reports.replaceChildren(...v.reports.map(reportItem));
    }
    setText(row.cells.retries, String(v.retries));
    const due = v.nextAttemptAt && (v.status === OutboxStatus.PENDING || v.status === OutboxStatus.FAILED) ? v.nextAttemptAt : undefined;
    setText(row.cells.next, due ? `${dateTime(due)} (${relative(due, now)})` : "", due ? utc(due) : "");
    setText(row.cells.error, v.lastError, v.lastError);
    const accepted = v.providerMessageId ? `accepted as ${v.providerMessageId}${v.relay ? ` via relay ${v.relay}` : ""}` : "";
    setText(row.cells["message-id"], v.messageId, accepted);
    setText(row.cells.updated, v.updated ? dateTime(v.updated) : "", v.updated ? utc(v.updated) : "");
    row.retry.hidden = !canRetry(v.status);
    row.cancel.hidden = !canCancel(v.status);
    if (v.version !== row.version) {
      row.version = v.version;
      // Restart the highlight animation on every change.
      row.tr.classList.remove("changed");
      void row.tr.offsetWidth;
      row.tr.classList.add("changed");
    }
  }
}

/** "BOUNCED a@b.example [blocked]": the state, the address and the reason's chip (the diagnostic as its tooltip). */
function reportItem(r: RecipientView): HTMLSpanElement {
  const item = el("span", "report");
  item.dataset.state = r.state.toUpperCase();
  item.dataset.address = r.address;
  item.title = r.detail;
  item.append(el("span", `report-state st-${r.state}`, r.state.toUpperCase()), ` ${r.address}`);
  if (r.reason) item.append(" ", reasonChip(r.reason, r.detail));
  return item;
}

/** The status chips: counts per status, each a toggle of the status filter. */
export function renderStatusChips(host: HTMLElement, counts: ReadonlyMap<OutboxStatus, number>, selected: ReadonlySet<OutboxStatus>): void {
  if (host.childElementCount === 0) {
    for (const s of STATUSES) {
      const chip = el("button", `chip s-${statusName(s).toLowerCase()}`);
      chip.type = "button";
      chip.dataset.statusFilter = statusName(s);
      chip.append(el("span", "chip-name", statusName(s)), el("span", "chip-count", "0"));
      host.append(chip);
    }
  }
  for (const chip of host.querySelectorAll<HTMLButtonElement>("button[data-status-filter]")) {
    const s = OutboxStatus[chip.dataset.statusFilter as keyof typeof OutboxStatus];
    chip.setAttribute("aria-pressed", String(selected.has(s)));
    setText(chip.querySelector(".chip-count")!, String(counts.get(s) ?? 0));
  }
}

/** A message in the corner that goes away by itself. */
export function toast(host: HTMLElement, text: string, kind: "ok" | "error"): void {
  const node = el("div", `toast ${kind}`, text);
  node.setAttribute("role", kind === "error" ? "alert" : "status");
  host.append(node);
  setTimeout(() => node.remove(), kind === "error" ? 8000 : 4000);
}
