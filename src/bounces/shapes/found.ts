// What a shape reads about one recipient, before it becomes an outcome (outcome.ts): the shapes
// find recipients and their words; status, reply code and reason are decided in one place.

export interface Found {
  /** Lower-cased address of the failed recipient. */
  address: string;
  /** "failed" (given up, whatever its code) or "delayed" (still being retried). */
  action: "failed" | "delayed";
  /** The Status field of a DSN (or a JSON notification), when there is one. */
  fieldStatus?: string;
  /** What the report says about this recipient: the remote reply, the reporter's words. */
  text: string;
  /**
   * The notice's words about the recipient (or the whole notice): what decides the reason, and
   * is stored, when the recipient's own text says nothing (a DSN's "X-Unix; 77").
   */
  context?: string;
}

/** Recipients read from one report are capped: a report naming more is bounded, not refused. */
export const MAX_RECIPIENTS = 1000;

/** One entry per address, the first; at most MAX_RECIPIENTS. */
export function dedupe(list: Found[]): Found[] {
  const seen = new Set<string>();
  return list.filter((f) => !seen.has(f.address) && seen.add(f.address)).slice(0, MAX_RECIPIENTS);
}
