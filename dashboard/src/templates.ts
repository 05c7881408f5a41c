// The Templates panel: the chosen account's templates (ListTemplates) with their latest version,
// and New / Edit opening the editor. Text is set with textContent only.
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { ConnectError } from "@connectrpc/connect";
import type { TemplateSummary } from "../../gen/email/v1/template_service_pb.js";
import type { TemplatesApi } from "./api.js";
import { dateTime } from "./format.js";
import { TemplateEditor } from "./template-editor.js";

const PAGE = 100;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

export class TemplatesPanel {
  private accountId = 0;
  private readonly editor: TemplateEditor;

  constructor(
    private readonly api: TemplatesApi,
    private readonly ui: {
      rows: HTMLTableSectionElement;
      title: HTMLElement;
      add: HTMLButtonElement;
      dialog: HTMLDialogElement;
      toasts: HTMLElement;
    },
  ) {
    this.editor = new TemplateEditor(api, ui.dialog, ui.toasts, () => void this.load(this.accountId));
    ui.add.addEventListener("click", () => void this.editor.open(this.accountId));
    ui.rows.addEventListener("click", (ev) => {
      const name = (ev.target as HTMLElement).closest<HTMLButtonElement>("button[data-edit]")?.dataset.edit;
      if (name) void this.editor.open(this.accountId, name);
    });
  }

  /** Lists one account's templates (0: none chosen, the panel asks for one). */
  async load(accountId: number): Promise<void> {
    this.accountId = accountId;
    this.ui.add.disabled = accountId === 0;
    if (accountId === 0) {
      this.ui.title.textContent = "Templates: pick an account";
      this.ui.rows.replaceChildren();
      return;
    }
    let list: TemplateSummary[];
    let more: boolean;
    try {
      const res = await this.api.listTemplates({ accountId, pageSize: PAGE });
      list = res.templates;
      more = res.nextPageToken !== "";
    } catch (err) {
      this.ui.title.textContent = `Templates: ${ConnectError.from(err).rawMessage}`;
      this.ui.rows.replaceChildren();
      return;
    }
    if (accountId !== this.accountId) return;
    this.ui.title.textContent = `Templates of account ${accountId} (${list.length}${more ? "+" : ""})`;
    this.ui.rows.replaceChildren(
      ...list.map((t) => {
        const tr = el("tr");
        tr.dataset.template = t.name;
        tr.append(
          el("td", "name", t.name),
          el("td", "num version", `v${t.latestVersion}`),
          el("td", "layout", t.layout),
          el("td", "description", t.description),
          el("td", "since", t.updateTime ? dateTime(timestampDate(t.updateTime)) : ""),
        );
        const actions = el("td");
        const edit = el("button", "quiet", "Edit");
        edit.dataset.edit = t.name;
        actions.append(edit);
        tr.append(actions);
        return tr;
      }),
    );
  }
}
