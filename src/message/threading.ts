// Reply threading rules: Message-ID normal form, the reply subject, and the References chain.

/** "<a@b>" form; bare "a@b" gets brackets. Returns undefined for anything that is not one id. */
export function normalizeMessageId(value: string): string | undefined {
  const trimmed = value.trim();
  const inner = trimmed.startsWith("<") && trimmed.endsWith(">") ? trimmed.slice(1, -1) : trimmed;
  if (inner.length === 0 || inner.length > 995) return undefined;
  // An id is one token: no spaces, no brackets, no controls, exactly one @ with both sides set.
  if (!/^[^\s<>\0-\x1f\x7f@]+@[^\s<>\0-\x1f\x7f@]+$/.test(inner)) return undefined;
  return `<${inner}>`;
}

/** The ids of a References (or In-Reply-To) header, in order, normalised. */
export function parseReferences(header: string | null | undefined): string[] {
  if (!header) return [];
  const ids = header.match(/<[^<>\s]+>/g) ?? [];
  return ids.map((id) => normalizeMessageId(id)).filter((id): id is string => id !== undefined);
}

/**
 * The reply's References: the parent's References in order, then the parent's Message-ID unless
 * it is already the last one present.
 */
export function replyReferences(parentReferences: string[], parentMessageId: string): string[] {
  const refs = [...parentReferences];
  if (refs[refs.length - 1] !== parentMessageId) refs.push(parentMessageId);
  return refs;
}

/** "Re: " + the parent's subject, without stacking prefixes ("Re: Re: x", "RE:x" -> "Re: x"). */
export function replySubject(parentSubject: string | null | undefined): string {
  const base = (parentSubject ?? "").replace(/^(\s*re\s*:\s*)+/i, "").trim();
  return `Re: ${base || "(no subject)"}`;
}
