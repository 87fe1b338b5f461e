export type RenderResult = { ok: true; text: string } | { ok: false; missing: string[] };

// `{{name}}` or `{{ name }}`. Anything else between double braces (spaces inside a name, a
// leading digit) is not a placeholder and stays in the text as written.
const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*\}\}/g;

/**
 * Fills `{{name}}` placeholders from `variables`. Names are flat keys: `{{user.name}}` reads
 * `variables["user.name"]`, not a nested object. Values are inserted literally, so a value
 * containing `{{x}}` is not expanded again. If any placeholder has no value, nothing is
 * rendered and every missing name is reported once, in order of first appearance.
 */
export function renderTemplate(
  template: string,
  variables: Record<string, string | number>,
): RenderResult {
  const missing = new Set<string>();
  const text = template.replace(PLACEHOLDER, (placeholder, name: string) => {
    const value = lookup(variables, name);
    if (value === undefined) {
      missing.add(name);
      return placeholder;
    }
    return value;
  });
  return missing.size > 0 ? { ok: false, missing: [...missing] } : { ok: true, text };
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
