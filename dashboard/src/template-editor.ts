// The template editor: subject, HTML and text with a live preview (RenderTemplate of what is in
// the form, with the sample data), versions to look back at, Save (a new version) and Delete.
// The preview's HTML goes into the same sandboxed frame as the message detail's.
import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { JsonObject, MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Template, TemplateContentSchema, TemplateProblem } from "../../gen/email/v1/template_service_pb.js";
import { errorReason, fieldViolations } from "../../src/client/errors.js";
import type { TemplatesApi } from "./api.js";
import { sandboxedFrame } from "./detail.js";
import { dateTime } from "./format.js";
import { toast } from "./view.js";

/** The preview waits for typing to pause this long. */
const PREVIEW_DELAY_MS = 300;
const FIELDS = ["name", "description", "layout", "subject", "html", "text", "sampleData"] as const;
type Field = (typeof FIELDS)[number];

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

export class TemplateEditor {
  private accountId = 0;
  /** The saved template's name; undefined for a new one. */
  private name: string | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** Bumped per preview, so an older answer never replaces a newer one. */
  private previews = 0;

  constructor(
    private readonly api: TemplatesApi,
    private readonly dialog: HTMLDialogElement,
    private readonly toasts: HTMLElement,
    private readonly saved: () => void,
  ) {
    this.form.addEventListener("input", () => this.schedulePreview());
    this.form.addEventListener("submit", (ev) => ev.preventDefault());
    this.part("versions").addEventListener(
      "change",
      () => void this.showVersion(Number((this.part("versions") as HTMLSelectElement).value)),
    );
    dialog.addEventListener("click", (ev) => {
      const action = (ev.target as HTMLElement).closest<HTMLButtonElement>("button[data-action]")?.dataset.action;
      if (action === "save") void this.save();
      else if (action === "delete") void this.remove();
      else if (action === "close") dialog.close();
    });
  }

  private get form(): HTMLFormElement {
    return this.part("form") as HTMLFormElement;
  }

  private part(name: string): HTMLElement {
    return this.dialog.querySelector<HTMLElement>(`[data-part="${name}"]`)!;
  }

  private input(field: Field): HTMLInputElement | HTMLTextAreaElement {
    return this.form.elements.namedItem(field) as HTMLInputElement | HTMLTextAreaElement;
  }

  /** Opens a saved template at its latest version, or an empty form for a new one. */
  async open(accountId: number, name?: string): Promise<void> {
    this.accountId = accountId;
    this.name = name;
    this.form.reset();
    this.input("name").readOnly = name !== undefined;
    this.part("title").textContent = name ? `Template ${name}` : `New template for account ${accountId}`;
    (this.part("delete") as HTMLButtonElement).hidden = name === undefined;
    this.part("versions").replaceChildren();
    if (name) {
      try {
        const [latest, versions] = await Promise.all([
          this.api.getTemplate({ accountId, name }),
          this.api.listTemplateVersions({ accountId, name, pageSize: 100 }),
        ]);
        this.fill(latest.template!);
        this.part("versions").replaceChildren(
          ...versions.versions.map((v) => {
            const option = el(
              "option",
              undefined,
              `v${v.version}${v.version === latest.template!.latestVersion ? " (latest)" : ""} · ${v.createTime ? dateTime(timestampDate(v.createTime)) : ""}${v.description ? ` · ${v.description}` : ""}`,
            );
            option.value = String(v.version);
            return option;
          }),
        );
      } catch (err) {
        return this.refused("Open", err);
      }
    }
    if (!this.dialog.open) this.dialog.showModal();
    this.preview();
  }

  private fill(t: Template): void {
    const c = t.content!;
    const values: Record<Field, string> = {
      name: t.name,
      description: c.description,
      layout: c.layout,
      subject: c.subject,
      html: c.html,
      text: c.text,
      sampleData: c.sampleData ? JSON.stringify(c.sampleData, null, 2) : "",
    };
    for (const f of FIELDS) this.input(f).value = values[f];
    this.dialog.dataset.version = String(t.version);
  }

  /** An earlier version into the form (saving it makes it the newest again). */
  private async showVersion(version: number): Promise<void> {
    if (!this.name || !version) return;
    try {
      this.fill((await this.api.getTemplate({ accountId: this.accountId, name: this.name, version })).template!);
      this.preview();
    } catch (err) {
      this.refused("Version", err);
    }
  }

  /** The form as TemplateContent, or why the sample data cannot be read. */
  private content(): { content: MessageInitShape<typeof TemplateContentSchema>; data: JsonObject } | string {
    const text = this.input("sampleData").value.trim();
    let data: unknown = {};
    try {
      if (text) data = JSON.parse(text);
    } catch {
      return "Sample data is not JSON.";
    }
    if (data === null || typeof data !== "object" || Array.isArray(data)) return "Sample data is a JSON object ({…}).";
    const v = (f: Field) => this.input(f).value;
    return {
      content: {
        subject: v("subject"),
        html: v("html"),
        text: v("text"),
        layout: v("layout").trim(),
        description: v("description"),
        sampleData: text ? (data as JsonObject) : undefined,
      },
      data: data as JsonObject,
    };
  }

  private schedulePreview(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.preview(), PREVIEW_DELAY_MS);
  }

  private preview(): void {
    const n = ++this.previews;
    const form = this.content();
    if (typeof form === "string") {
      this.showProblems([form]);
      return;
    }
    this.api.renderTemplate({ accountId: this.accountId, source: { case: "inline", value: form.content }, data: form.data }).then(
      (res) => {
        if (n !== this.previews) return;
        this.part("subject").textContent = res.subject;
        this.part("html").replaceChildren(res.html ? sandboxedFrame(res.html) : el("p", "none", "No HTML."));
        this.part("text").textContent = res.text;
        this.showProblems(res.problems.map(describe));
      },
      (err: unknown) => {
        if (n === this.previews) this.showProblems(messages(err));
      },
    );
  }

  private showProblems(list: string[]): void {
    const host = this.part("problems");
    host.dataset.count = String(list.length);
    host.replaceChildren(...list.map((p) => el("li", undefined, p)));
  }

  private async save(): Promise<void> {
    // The save's answer is the last word on this content: a preview still waiting for typing to
    // pause, or one under way, must not replace its refusal when it lands a moment later.
    clearTimeout(this.timer);
    this.previews++;
    const form = this.content();
    if (typeof form === "string") return this.showProblems([form]);
    const name = this.name ?? this.input("name").value.trim();
    const button = this.part("save") as HTMLButtonElement;
    button.disabled = true;
    try {
      const req = { accountId: this.accountId, name, content: form.content };
      const res = this.name ? await this.api.updateTemplate(req) : await this.api.createTemplate(req);
      toast(this.toasts, `Saved ${name} as version ${res.template!.version}`, "ok");
      this.saved();
      await this.open(this.accountId, name);
    } catch (err) {
      this.showProblems(messages(err));
      this.refused("Save", err);
    } finally {
      button.disabled = false;
    }
  }

  private async remove(): Promise<void> {
    if (
      !this.name ||
      !confirm(`Delete template ${this.name}? Messages already accepted keep their content; new sends with it are refused.`)
    )
      return;
    try {
      await this.api.deleteTemplate({ accountId: this.accountId, name: this.name });
      toast(this.toasts, `Deleted ${this.name}`, "ok");
      this.dialog.close();
      this.saved();
    } catch (err) {
      this.refused("Delete", err);
    }
  }

  private refused(what: string, err: unknown): void {
    const e = ConnectError.from(err);
    toast(this.toasts, `${what} refused (${errorReason(e) ?? Code[e.code]}): ${e.rawMessage}`, "error");
  }
}

function describe(p: TemplateProblem): string {
  return `${p.field}${p.line ? ` line ${p.line}` : ""}: ${p.message}`;
}

/** A refusal as lines: each bad field's description, or the message. */
function messages(err: unknown): string[] {
  const list = fieldViolations(err).map((v) => v.description);
  return list.length ? list : [ConnectError.from(err).rawMessage];
}
