export type RenderResult =
  | { ok: true; text: string }
  | { ok: false; missing: string[] }
  /** The text would exceed `maxLength`; rendering stopped filling placeholders there. */
  | { ok: false; missing: []; tooLong: true };

// `{{name}}` or `{{ name }}`. Anything else between double braces (spaces inside a name, a
// leading digit) is not a placeholder and stays in the text as written.
const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*\}\}/g;

/**
 * Fills `{{name}}` placeholders from `variables`. Names are flat keys: `{{user.name}}` reads
 * `variables["user.name"]`, not a nested object. Values are inserted literally, so a value
 * containing `{{x}}` is not expanded again. If any placeholder has no value, nothing is
 * rendered and every missing name is reported once, in order of first appearance.
 *
 * `maxLength` (UTF-16 code units) bounds the work: the rendered length is summed first, and a
 * text that would exceed it is reported `tooLong` without being built, so rendering costs
 * O(template + maxLength) however many times a long value is repeated. Missing variables are
 * reported first.
 */
export function renderTemplate(
  template: string,
  variables: Record<string, string | number>,
  maxLength = Number.POSITIVE_INFINITY,
): RenderResult {
  const missing = new Set<string>();
  let length = template.length;
  for (const [placeholder, name = ""] of template.matchAll(PLACEHOLDER)) {
    const value = lookup(variables, name);
    if (value === undefined) missing.add(name);
    else length += value.length - placeholder.length;
  }
  if (missing.size > 0) return { ok: false, missing: [...missing] };
  if (length > maxLength) return { ok: false, missing: [], tooLong: true };
  return { ok: true, text: template.replace(PLACEHOLDER, (_placeholder, name: string) => lookup(variables, name)!) };
}

/** How many placeholders `template` holds, repeats included. */
export function countPlaceholders(template: string): number {
  let count = 0;
  for (const _ of template.matchAll(PLACEHOLDER)) count++;
  return count;
}

/** Distinct placeholder names in `template`, in order of first appearance. */
export function templateVariables(template: string): string[] {
  return [...new Set(Array.from(template.matchAll(PLACEHOLDER), (match) => match[1] ?? ""))];
}

// Own properties only: a template must not be able to read `{{constructor}}` or `{{toString}}`
// off the prototype. Values arriving from JSON may also be null or other types at runtime.
function lookup(variables: Record<string, string | number>, name: string): string | undefined {
  if (!Object.hasOwn(variables, name)) return undefined;
  const value: unknown = variables[name];
  if (typeof value === "string") return value;
  if (typeof value === "number") return String(value);
  return undefined;
}
