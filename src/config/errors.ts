// Config errors: one class, and the one way a schema issue becomes a message that says where it is
// and never quotes a secret. Unknown keys are refused, never ignored (a typo would otherwise fall
// back to a default in silence): the message gives the key's full path and, when a known key is a
// typo away, that key.
import type * as v from "valibot";

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** The id of an API key or a webhook endpoint; once valid, messages name the item by it. */
export const ID = /^[A-Za-z0-9._-]{1,64}$/;
const itemId = (item: unknown): string | undefined => {
  const id = (item as { id?: unknown } | null)?.id;
  return typeof id === "string" && ID.test(id) ? id : undefined;
};
/** How the items of these lists are named in messages ("api key k", "webhooks[0] (h)"). */
const ITEM_NAMES: Record<string, (index: number, item: unknown) => string> = {
  api_keys: (i, item) => (itemId(item) ? `api key ${itemId(item)}` : `api_keys[${i}]`),
  webhooks: (i, item) => `webhooks[${i}]${itemId(item) ? ` (${itemId(item)})` : ""}`,
};

/**
 * The text of a schema issue. A message in the schema says where it is with `{path}` (the dotted
 * path: "metrics.listen") or `{field}` (the object, then the key: "sender: batch_size"); a list's
 * own index is left out (the message is about the list). Everything in an account is prefixed
 * "account N: "; an unknown key is named by its plain path ("api_keys[0].scope").
 */
export function issueText(issue: v.BaseIssue<unknown>): string {
  let account = "";
  const names: string[] = [];
  const path = issue.path ?? [];
  for (const [at, { key, value }] of path.entries()) {
    if (typeof key !== "number") {
      names.push(String(key));
      continue;
    }
    const list = names.pop()!;
    const last = at === path.length - 1;
    const named = isUnknownKey(issue) ? undefined : ITEM_NAMES[list];
    if (list === "accounts" && names.length === 0) {
      // An account that is not an object has no id to be named by.
      if (last) names.push("account");
      else account = `account ${JSON.stringify((value as { id?: unknown } | null)?.id) ?? "?"}: `;
    } else names.push(named ? named(key, value) : last ? list : `${list}[${key}]`);
  }
  const key = names.at(-1) ?? "";
  const parent = names.slice(0, -1).join(".");
  const text = issue.message.replaceAll("{path}", names.join(".") || "config");
  return account + text.replaceAll("{field}", parent ? `${parent}: ${key}` : key);
}

export function isUnknownKey(issue: v.BaseIssue<unknown>): boolean {
  return issue.type === "strict_object" && issue.expected === "never";
}

/** "`{path}`: unknown setting (did you mean …?)" for a key not among known. */
export function unknownSetting(key: string, known: readonly string[]): string {
  const near = closest(key, known);
  return `{path}: unknown setting${near ? ` (did you mean ${near}?)` : ""}`;
}

/** The known key within a small edit distance of key (a typo, not another word), if any. */
export function closest(key: string, known: readonly string[]): string | undefined {
  const limit = Math.max(2, Math.floor(key.length / 4));
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const candidate of known) {
    const d = editDistance(key.toLowerCase(), candidate);
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

/** Levenshtein distance, one row at a time. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = row;
  }
  return previous[b.length]!;
}
