// How a layout places the content it wraps: {{{body}}} (unescaped, as the content is already
// rendered), in its html and in its text, whichever it has.

const BODY = /\{\{\{~?\s*body\s*~?\}\}\}/;

/** Whether a layout places the content in each part it has (and has one). */
export function placesBody(html: string, text: string): boolean {
  const parts = [html, text].filter((p) => p.trim() !== "");
  return parts.length > 0 && parts.every((p) => BODY.test(p));
}
