/**
 * The cleaning that makes every string of a webhook body storable by Postgres. A phone's
 * webhook carries plain text; anything else was crafted, and must be cleaned here, not by a
 * Postgres error halfway through a batch. (Its depth is bounded first: nestedDeeperThan in
 * @inboxerr/http; SMS Gate's deepest body, `system:ping`, nests 5 levels.)
 */

// An escaped NUL or an escaped UTF-16 surrogate half (maybe lone): the only ways a string
// decoded from UTF-8 JSON can hold what Postgres refuses (text: NUL; jsonb: NUL and lone
// surrogates). Raw bytes are decoded with U+FFFD for anything invalid, so nothing else can.
const SUSPECT_ESCAPE = /\\u(?:0000|[dD][89a-fA-F])/;

/** Whether the raw body may hold a string Postgres cannot store (see storable). */
export const mayHoldUnstorable = (text: string): boolean => SUSPECT_ESCAPE.test(text);

/**
 * The parsed body with every string, keys included, made storable: NUL and lone surrogates
 * become U+FFFD (valid surrogate pairs stay). The phone retries a refused webhook for days,
 * and an inbound SMS refused for one broken character would be a reply lost; a replacement
 * character is what a lossy decoder would have shown anyway. Recursion is safe: the depth
 * was bounded before parsing.
 */
export function storable(value: unknown): unknown {
  if (typeof value === "string") return clean(value);
  if (Array.isArray(value)) return value.map(storable);
  // fromEntries defines own properties, so a "__proto__" key stays a key, as JSON.parse made it.
  if (value !== null && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [clean(k), storable(v)]));
  return value;
}

const clean = (s: string): string => s.replaceAll("\u0000", "\uFFFD").toWellFormed();
