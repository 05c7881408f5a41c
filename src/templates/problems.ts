// One thing wrong with a template or its rendering, as RenderTemplate returns it and as a
// refused save or send lists it (a field violation each, the first one's reason on the error).

export interface TemplateProblem {
  /** "subject", "html", "text", "layout", "data", … (the handler prefixes its request field). */
  field: string;
  /** A stable UPPER_SNAKE reason. */
  reason: string;
  message: string;
  /** For TEMPLATE_DATA_MISSING: the path the data lacks. */
  path?: string;
  /** From 1, in the field's source. */
  line?: number;
  /** From 0. */
  column?: number;
}

/** "line 3, column 7: message" (what is known of the place), for a field violation's description. */
export function describe(p: TemplateProblem): string {
  const at = p.line ? `line ${p.line}${p.column !== undefined ? `, column ${p.column}` : ""}: ` : "";
  return `${p.field}: ${at}${p.message}`;
}
