// The detail view of one message (GetOutboxMessage) in a modal dialog: addresses, headers as sent,
// the text body, the HTML body in a sandboxed frame, attachments and the event timeline.
// Everything from the message is data: set with textContent, or, for the HTML body, handed to an
// <iframe sandbox> as srcdoc — no scripts, no same origin, no forms, popups or navigation, and a
// policy of its own on top of the page's (which a srcdoc frame inherits): nothing is fetched.
import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import { CancelReason, OutboxEventKind, type GetOutboxMessageResponse } from "../../gen/email/v1/email_service_pb.js";
import { bounceReasonName } from "../../src/client/reasons.js";
import { bytes, dateTime, reasonChip, statusName, utc } from "./format.js";

/** Prepended to the HTML body: a CSP can only be tightened by what follows it. */
const FRAME_POLICY = `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">`;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function when(ts: Timestamp | undefined): HTMLTimeElement | string {
  if (!ts) return "";
  const d = timestampDate(ts);
  const node = el("time", undefined, dateTime(d));
  node.dateTime = d.toISOString();
  node.title = utc(d);
  return node;
}

/** The HTML body's frame; exported so its one safety rule is in one place. */
export function sandboxedFrame(html: string): HTMLIFrameElement {
  const frame = el("iframe", "body-html");
  // An empty sandbox: every restriction (scripts, same origin, forms, popups, top navigation).
  frame.setAttribute("sandbox", "");
  frame.setAttribute("referrerpolicy", "no-referrer");
  frame.title = "HTML body (sandboxed)";
  frame.srcdoc = `<!doctype html><meta charset="utf-8">${FRAME_POLICY}${withoutRemoteResources(html)}`;
  return frame;
}

const RESOURCE_ATTRIBUTES = ["src", "srcset", "background", "poster"];

/**
 * The HTML with every resource it would fetch from elsewhere left out (data: and cid: stay): a
 * remote image is often a pixel that tells the sender the message was opened. The frame's policy
 * blocks such loads too, but the browser may start fetching an image before a policy inside the
 * document applies. DOMParser builds an inert document, which loads nothing.
 */
function withoutRemoteResources(html: string): string {
  const doc = new DOMParser().parseFromString(html, "text/html");
  for (const link of doc.querySelectorAll("link")) link.remove();
  for (const node of doc.querySelectorAll(RESOURCE_ATTRIBUTES.map((a) => `[${a}]`).join(","))) {
    for (const name of RESOURCE_ATTRIBUTES) {
      const value = node.getAttribute(name);
      if (value !== null && !/^\s*(data|cid):/i.test(value)) node.removeAttribute(name);
    }
  }
  return doc.documentElement.outerHTML;
}

export class DetailView {
  constructor(private readonly dialog: HTMLDialogElement) {}

  /** The row shown, while the dialog is open. */
  get openId(): bigint | undefined {
    const id = this.dialog.dataset.outboxId;
    return this.dialog.open && id ? BigInt(id) : undefined;
  }

  show(d: GetOutboxMessageResponse): void {
    const o = d.outbox!;
    const part = (name: string) => this.dialog.querySelector<HTMLElement>(`[data-part="${name}"]`)!;
    this.dialog.dataset.outboxId = String(o.outboxId);
    part("title").textContent = `#${o.outboxId} · ${o.subject}`;
    const badge = part("status");
    badge.textContent = statusName(o.status);
    badge.className = `badge s-${statusName(o.status).toLowerCase()}`;

    const fields: [string, string | HTMLElement][] = [
      ["From", d.fromAddress],
      ["To", o.to.join(", ")],
      ["Cc", o.cc.join(", ")],
      ["Bcc", o.bcc.join(", ")],
      ["Reply-To", d.replyTo],
      ["Subject", o.subject],
      ["Template", o.templateName ? `${o.templateName} v${o.templateVersion}` : ""],
      ["Account", String(o.accountId)],
      ["Message-ID", o.messageId],
      ["Created", when(o.createTime)],
      ["Sent", when(o.sentTime)],
      ["Relay", o.relay],
      ["Retries", String(o.retries)],
      ["Expires", when(o.expireAt)],
      ["Collapse key", o.collapseKey],
      ["Superseded by", o.supersededBy ? `#${o.supersededBy}` : ""],
    ];
    part("fields").replaceChildren(
      ...fields
        .filter(([, v]) => v !== "")
        .flatMap(([k, v]) => {
          const dd = el("dd");
          dd.append(v);
          dd.dataset.field = k;
          return [el("dt", undefined, k), dd];
        }),
    );

    part("events").replaceChildren(
      ...d.events.map((e) => {
        const li = el("li", `s-${statusName(e.status).toLowerCase()}`);
        li.dataset.kind = OutboxEventKind[e.kind] ?? String(e.kind);
        li.append(when(e.time), el("span", "kind", OutboxEventKind[e.kind] ?? "?"), el("span", "retries", `retries ${e.retries}`));
        if (e.messageId) li.append(el("code", "message-id", e.messageId));
        if (e.relay) li.append(el("span", "relay", `via ${e.relay}`));
        if (e.recipient) li.append(el("span", "recipient", e.recipient));
        if (bounceReasonName(e.reason)) li.append(reasonChip(bounceReasonName(e.reason), e.error));
        if (e.error) li.append(el("div", "error", e.error));
        if (e.cancelReason === CancelReason.SUPERSEDED) li.append(el("span", "superseded", `superseded by #${e.supersededBy}`));
        return li;
      }),
    );
    part("events-note").textContent = d.eventsTruncated ? "Only the newest 1,000 events are shown." : "";

    part("text").textContent = d.bodyText;
    part("text-note").textContent = d.bodyTextTruncated ? "Cut at 1 MiB." : "";
    part("html").replaceChildren(d.bodyHtml ? sandboxedFrame(d.bodyHtml) : el("p", "none", "No HTML body."));
    part("html-note").textContent = d.bodyHtmlTruncated ? "Cut at 1 MiB." : "";

    part("attachments").replaceChildren(
      ...(d.attachments.length
        ? d.attachments.map((a) => {
            const li = el("li");
            li.append(
              el("span", "filename", a.filename),
              el("span", "meta", ` ${a.contentType} · ${bytes(Number(a.sizeBytes))}${a.contentId ? ` · inline cid:${a.contentId}` : ""}`),
            );
            return li;
          })
        : [el("li", "none", "None.")]),
    );
    part("headers").textContent = d.headers;
    if (!this.dialog.open) this.dialog.showModal();
  }

  close(): void {
    this.dialog.close();
  }
}
