// The outbox dashboard: the live table, its filters (account picked from ListAccounts), the Retry
// and Cancel buttons (per row and for the ticked rows), the detail view (GetOutboxMessage), the
// chart of the last hour (GetOutboxActivity) and the API key field, wired to one WatchOutbox
// stream and the unary RPCs.
import { Code, ConnectError } from "@connectrpc/connect";
import { OutboxStatus, type Outbox } from "../../gen/email/v1/outbox_pb.js";
import { errorReason } from "../../src/client/errors.js";
import { apiKey, createAccountsApi, createApi, createMailboxApi, createTemplatesApi, createWebhooksApi } from "./api.js";
import { statusName } from "./format.js";
import { renderActivity } from "./chart.js";
import { DetailView } from "./detail.js";
import { canCancel, canRetry, OutboxModel, type RowView } from "./model.js";
import { OutboxTable, renderStatusChips, toast, type Action } from "./view.js";
import { watchOutbox, type WatchState } from "./watch.js";
import { WebhooksPanel } from "./webhooks.js";
import { SuppressionsPanel } from "./suppressions.js";
import { RefusalBanner } from "./refusals.js";
import { TemplatesPanel } from "./templates.js";

/** Rows in the table per page (the Rows picker); the counts above it cover every row the stream described. */
const pageRows = () => Number(ui.pageSize.value) || 200;
/** GetOutbox calls in flight for rows whose subject is not known yet. */
const DETAIL_CONCURRENCY = 4;
/** The chart is read again this long after an outcome (past the server's 5 s cache), and at least once a minute. */
const ACTIVITY_MIN_MS = 6_000;
const ACTIVITY_MAX_MS = 60_000;

const byId = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const ui = {
  connection: byId<HTMLSpanElement>("connection"),
  keyForm: byId<HTMLFormElement>("key-form"),
  key: byId<HTMLInputElement>("api-key"),
  forgetKey: byId<HTMLButtonElement>("forget-key"),
  account: byId<HTMLSelectElement>("account"),
  pageSize: byId<HTMLSelectElement>("page-size"),
  searchForm: byId<HTMLFormElement>("search-form"),
  search: byId<HTMLInputElement>("search"),
  tagForm: byId<HTMLFormElement>("tag-form"),
  tag: byId<HTMLInputElement>("tag"),
  older: byId<HTMLButtonElement>("older"),
  chips: byId<HTMLDivElement>("status-filters"),
  notice: byId<HTMLParagraphElement>("notice"),
  tbody: document.querySelector<HTMLTableSectionElement>("#outbox tbody")!,
  empty: byId<HTMLParagraphElement>("empty"),
  footer: byId<HTMLParagraphElement>("footer"),
  toasts: byId<HTMLDivElement>("toasts"),
  selectedCount: byId<HTMLSpanElement>("selected-count"),
  retrySelected: byId<HTMLButtonElement>("retry-selected"),
  cancelSelected: byId<HTMLButtonElement>("cancel-selected"),
  detail: byId<HTMLDialogElement>("detail"),
  detailClose: byId<HTMLButtonElement>("detail-close"),
  chart: document.getElementById("activity-chart") as unknown as SVGSVGElement,
  chartLegend: byId<HTMLSpanElement>("activity-legend"),
};

const api = createApi(location.origin);
const webhooks = new WebhooksPanel(createWebhooksApi(location.origin), {
  section: byId("webhooks"),
  endpoints: document.querySelector("#webhook-endpoints tbody")!,
  deliveries: document.querySelector("#webhook-deliveries tbody")!,
  title: byId("webhook-deliveries-title"),
  toasts: ui.toasts,
});
const suppressions = new SuppressionsPanel(createMailboxApi(location.origin), {
  section: byId("suppressions"),
  rows: document.querySelector("#suppressions-table tbody")!,
  title: byId("suppressions-title"),
  toasts: ui.toasts,
  filter: byId("suppressions-reason"),
});
const templates = new TemplatesPanel(createTemplatesApi(location.origin), {
  rows: document.querySelector("#templates-table tbody")!,
  title: byId("templates-title"),
  add: byId("template-new"),
  dialog: byId("template-editor"),
  toasts: ui.toasts,
});
const accountsApi = createAccountsApi(location.origin);
const refusals = new RefusalBanner(accountsApi, byId("refusals"));
const model = new OutboxModel();
const table = new OutboxTable(ui.tbody);
const detail = new DetailView(ui.detail);
const statusFilter = new Set<OutboxStatus>();
/** How many of the newest rows the table shows: a page, plus one per "Older messages". */
let limit = 0;
/** ListOutbox's token for the page after those read so far; "" when there is none. */
let nextPage = "";
/** The search's text and the rows ListOutbox found for it (undefined: no search). */
let query = "";
let found: Set<bigint> | undefined;
/** The tag filter ("name=value" in the field), for the stream and every ListOutbox. */
let tags: Record<string, string> = {};
/** Rows ticked for Retry / Cancel selected; only those still shown count. */
const selected = new Set<bigint>();
/** Bumped per stream, so answers meant for an earlier filter are dropped. */
let generation = 0;
let stopWatch: (() => void) | undefined;
let frameRequested = false;
const detailsWanted = new Set<bigint>();
/** The first ListOutbox answered: only rows it did not cover need a GetOutbox. */
let listed = false;
let detailsInFlight = 0;

function accountFilter(): number {
  const n = Number(ui.account.value);
  return Number.isInteger(n) && n > 0 ? n : 0;
}

/** The account picker: the accounts the key covers (ListAccounts), keeping the choice if it still is one. */
function loadAccounts(): void {
  accountsApi.listAccounts({}).then(
    (res) => {
      const chosen = ui.account.value;
      const options = res.accounts.map((a) => {
        const option = document.createElement("option");
        option.value = String(a.accountId);
        option.textContent = `${a.accountId} · ${a.fromAddress}`;
        return option;
      });
      const all = document.createElement("option");
      all.value = "";
      all.textContent = "all";
      ui.account.replaceChildren(all, ...options);
      ui.account.value = options.some((o) => o.value === chosen) ? chosen : "";
      if (ui.account.value !== chosen) restart();
    },
    () => undefined, // the stream shows why (no key, wrong key)
  );
}

function restart(): void {
  stopWatch?.();
  const gen = ++generation;
  const accountId = accountFilter();
  model.clear();
  limit = pageRows();
  found = query ? new Set() : undefined;
  loadNewest(gen, accountId);
  scheduleActivity(0);
  void suppressions.load(accountId);
  refusals.show(accountId);
  void templates.load(accountId);
  stopWatch = watchOutbox(
    api,
    { accountId, tags },
    {
      start(snapshot, first) {
        notice(
          snapshot
            ? ""
            : "Too many messages for a full snapshot: showing the newest ones and every change from now on. Filter by account to see all.",
        );
        if (first) return;
        model.clear();
        loadNewest(gen, accountId);
      },
      event(e) {
        model.applyEvent(e);
        if (e.recipient) refusals.refresh();
        invalidate();
        if (e.outboxId === detail.openId) void openDetail(e.outboxId, true);
        if (OUTCOME_STATUSES.has(e.status)) scheduleActivity(ACTIVITY_MIN_MS);
      },
      state: showState,
    },
  );
}

/** The newest rows: their subjects and recipients and, for rows no event described, their state. */
function loadNewest(gen: number, accountId: number): void {
  listed = false;
  detailsWanted.clear();
  invalidate();
  nextPage = "";
  api
    .listOutbox({ accountId, pageSize: limit, query, tags })
    .then(
      (res) => {
        if (gen !== generation) return;
        addPage(res.outboxes, res.nextPageToken);
        // The stream holds its headers until it has news; this answer proves the key and server.
        if (ui.connection.dataset.state === "connecting") showState({ kind: "live", snapshot: true });
      },
      () => undefined,
    )
    .finally(() => {
      if (gen !== generation) return;
      listed = true;
      invalidate();
    });
}

function addPage(outboxes: readonly Outbox[], token: string): void {
  for (const o of outboxes) {
    model.applyRow(o);
    found?.add(o.outboxId);
  }
  nextPage = token;
}

/** The next page by keyset (ListOutbox's page token), for the same account and search. */
function loadOlder(): void {
  const gen = generation;
  const shown = limit;
  if (!nextPage) {
    // The stream already described older rows than the table shows.
    limit += pageRows();
    invalidate();
    return;
  }
  ui.older.disabled = true;
  api
    .listOutbox({ accountId: accountFilter(), pageSize: pageRows(), query, tags, pageToken: nextPage })
    .then(
      (res) => {
        if (gen !== generation) return;
        addPage(res.outboxes, res.nextPageToken);
        limit = shown + res.outboxes.length;
      },
      (err: unknown) => toast(ui.toasts, `Older messages: ${ConnectError.from(err).rawMessage}`, "error"),
    )
    .finally(() => {
      ui.older.disabled = false;
      invalidate();
    });
}

function showState(s: WatchState): void {
  const [state, text] =
    s.kind === "live"
      ? ["live", s.snapshot ? "live" : "live (changes only)"]
      : s.kind === "connecting"
        ? ["connecting", "connecting…"]
        : s.kind === "retrying"
          ? ["retrying", `reconnecting in ${Math.ceil(s.inMs / 1000)} s`]
          : ["refused", "refused"];
  ui.connection.dataset.state = state;
  ui.connection.textContent = text;
  ui.connection.title = "message" in s ? s.message : "";
  if (s.kind === "refused") {
    notice(`The server refused the stream: ${s.message}. Enter an API key with the read, watch, retry and cancel scopes.`);
    ui.key.focus();
  }
}

function notice(text: string): void {
  ui.notice.textContent = text;
  ui.notice.hidden = text === "";
}

/** Schedules one render for the next frame, however many changes come before it. */
function invalidate(): void {
  if (frameRequested) return;
  frameRequested = true;
  requestAnimationFrame(() => {
    frameRequested = false;
    render();
  });
}

function render(): void {
  const { rows, matching } = model.visible(statusFilter, limit, found);
  const shown = new Set(rows.map((r) => r.id));
  for (const id of selected) if (!shown.has(id)) selected.delete(id);
  table.render(rows, Date.now(), selected);
  const ticked = rows.filter((r) => selected.has(r.id));
  ui.selectedCount.textContent = `${ticked.length} selected`;
  ui.retrySelected.disabled = !ticked.some((r) => canRetry(r.status));
  ui.cancelSelected.disabled = !ticked.some((r) => canCancel(r.status));
  renderStatusChips(ui.chips, model.counts(), statusFilter);
  ui.empty.hidden = rows.length > 0;
  ui.footer.textContent =
    (found ? `${found.size} found for “${query}” (a new search includes rows that arrived since). ` : "") +
    (matching > rows.length ? `Showing the newest ${rows.length} of ${matching} messages.` : "");
  ui.older.hidden = !(nextPage || matching > rows.length);
  fetchDetails(rows);
}

/** Subjects of visible rows that appeared after the first ListOutbox page. */
function fetchDetails(rows: readonly RowView[]): void {
  if (!listed) return;
  const gen = generation;
  for (const row of rows) {
    if (detailsInFlight >= DETAIL_CONCURRENCY) return;
    if (row.details || detailsWanted.has(row.id)) continue;
    detailsWanted.add(row.id);
    detailsInFlight++;
    api
      .getOutbox({ outboxId: row.id })
      .then(
        (res) => {
          if (gen === generation && res.outbox) model.applyRow(res.outbox);
        },
        () => undefined,
      )
      .finally(() => {
        detailsInFlight--;
        invalidate();
      });
  }
}

/** One message in the detail dialog; `refresh`: read again because the open row changed. */
async function openDetail(id: bigint, refresh = false): Promise<void> {
  try {
    const res = await api.getOutboxMessage({ outboxId: id });
    if (!refresh || detail.openId === id) detail.show(res);
  } catch (err) {
    const e = ConnectError.from(err);
    toast(ui.toasts, `Message #${id} (${errorReason(e) ?? Code[e.code]}): ${e.rawMessage}`, "error");
  }
}

const OUTCOME_STATUSES: ReadonlySet<OutboxStatus> = new Set([OutboxStatus.SENT, OutboxStatus.FAILED, OutboxStatus.DEAD]);
let activityTimer: ReturnType<typeof setTimeout> | undefined;
let activityDue = Infinity;

/** Reads the chart within `inMs` (an earlier read already planned stays). */
function scheduleActivity(inMs: number): void {
  const due = Date.now() + inMs;
  if (activityTimer !== undefined && activityDue <= due) return;
  clearTimeout(activityTimer);
  activityDue = due;
  activityTimer = setTimeout(loadActivity, inMs);
}

function loadActivity(): void {
  activityTimer = undefined;
  activityDue = Infinity;
  const gen = generation;
  api
    .getOutboxActivity({ accountId: accountFilter() })
    .then(
      (res) => {
        if (gen === generation) renderActivity(ui.chart, ui.chartLegend, res.minutes);
      },
      () => undefined, // the stream shows why (no key, wrong key)
    )
    .finally(() => {
      if (activityTimer === undefined) scheduleActivity(ACTIVITY_MAX_MS);
    });
}

async function act(action: Action, id: bigint, button: HTMLButtonElement): Promise<void> {
  const label = action === "retry" ? "Retry" : "Cancel";
  if (action === "cancel" && !confirm(`Cancel message ${id}? It will not be sent.`)) return;
  button.disabled = true;
  try {
    // An operator's retry is meant for now, due or not.
    const res = action === "retry" ? await api.retryOutbox({ outboxId: id, force: true }) : await api.cancelOutbox({ outboxId: id });
    toast(ui.toasts, `${label} #${id}: ${statusName(res.outbox?.status ?? OutboxStatus.UNSPECIFIED)}`, "ok");
  } catch (err) {
    const e = ConnectError.from(err);
    toast(ui.toasts, `${label} #${id} refused (${errorReason(e) ?? Code[e.code]}): ${e.rawMessage}`, "error");
  } finally {
    button.disabled = false;
  }
}

/** Retry or cancel every ticked row that allows it, one call each, then one summary. */
async function actOnSelected(action: Action, button: HTMLButtonElement): Promise<void> {
  const allowed = action === "retry" ? canRetry : canCancel;
  const ids = model
    .visible(statusFilter, limit, found)
    .rows.filter((r) => selected.has(r.id) && allowed(r.status))
    .map((r) => r.id);
  const label = action === "retry" ? "Retry" : "Cancel";
  if (ids.length === 0) return;
  if (action === "cancel" && !confirm(`Cancel ${ids.length} message(s)? They will not be sent.`)) return;
  button.disabled = true;
  const results = await Promise.allSettled(
    ids.map((outboxId) => (action === "retry" ? api.retryOutbox({ outboxId, force: true }) : api.cancelOutbox({ outboxId }))),
  );
  const refused = results.flatMap((r, i) =>
    r.status === "rejected" ? [`#${ids[i]} (${errorReason(r.reason) ?? Code[ConnectError.from(r.reason).code]})`] : [],
  );
  toast(
    ui.toasts,
    `${label} selected: ${ids.length - refused.length} done${refused.length ? `, refused ${refused.join(", ")}` : ""}`,
    refused.length ? "error" : "ok",
  );
  selected.clear();
  invalidate();
}

ui.retrySelected.addEventListener("click", () => void actOnSelected("retry", ui.retrySelected));
ui.cancelSelected.addEventListener("click", () => void actOnSelected("cancel", ui.cancelSelected));

ui.tbody.addEventListener("change", (ev) => {
  const box = ev.target as HTMLInputElement;
  const id = box.matches("input[data-select]") ? box.closest<HTMLTableRowElement>("tr")?.dataset.outboxId : undefined;
  if (!id) return;
  if (box.checked) selected.add(BigInt(id));
  else selected.delete(BigInt(id));
  invalidate();
});

ui.tbody.addEventListener("click", (ev) => {
  const view = (ev.target as Element).closest<HTMLButtonElement>("button[data-view]")?.closest<HTMLTableRowElement>("tr")?.dataset.outboxId;
  if (view) return void openDetail(BigInt(view));
  const button = (ev.target as Element).closest<HTMLButtonElement>("button[data-action]");
  const id = button?.closest<HTMLTableRowElement>("tr")?.dataset.outboxId;
  if (button && id) void act(button.dataset.action as Action, BigInt(id), button);
});

ui.chips.addEventListener("click", (ev) => {
  const name = (ev.target as Element).closest<HTMLButtonElement>("button[data-status-filter]")?.dataset.statusFilter;
  if (!name) return;
  const s = OutboxStatus[name as keyof typeof OutboxStatus];
  if (!statusFilter.delete(s)) statusFilter.add(s);
  invalidate();
});

ui.detailClose.addEventListener("click", () => detail.close());
ui.account.addEventListener("change", restart);
ui.pageSize.addEventListener("change", restart);
ui.older.addEventListener("click", loadOlder);
ui.searchForm.addEventListener("submit", (ev) => {
  ev.preventDefault();
  query = ui.search.value.trim();
  restart();
});

ui.tagForm.addEventListener("submit", (ev) => {
  ev.preventDefault();
  const text = ui.tag.value.trim();
  const eq = text.indexOf("=");
  if (text && eq < 1) return toast(ui.toasts, "Tag filter: write name=value, e.g. campaign=weekly-49", "error");
  tags = text ? { [text.slice(0, eq)]: text.slice(eq + 1) } : {};
  restart();
});

function showKeyState(): void {
  ui.key.value = "";
  ui.key.placeholder = apiKey.get() ? "a key is set for this tab" : "only when the server has keys";
}

ui.keyForm.addEventListener("submit", (ev) => {
  ev.preventDefault();
  apiKey.set(ui.key.value.trim());
  showKeyState();
  notice("");
  restart();
  loadAccounts();
  void webhooks.load();
});

ui.forgetKey.addEventListener("click", () => {
  apiKey.set("");
  showKeyState();
  restart();
  loadAccounts();
  void webhooks.load();
});

// Relative times ("in 9 s") move on even when nothing else changes.
setInterval(invalidate, 1000);
byId("webhooks-refresh").addEventListener("click", () => void webhooks.load());
byId("suppressions-refresh").addEventListener("click", () => void suppressions.load(accountFilter()));
showKeyState();
restart();
loadAccounts();
void webhooks.load();
