/**
 * The limits a webhook body meets before anything walks it recursively, and the cleaning that
 * makes every string in it storable by Postgres. A phone's webhook nests about five levels and
 * carries plain text; anything past these bounds was crafted, and must be refused or cleaned
 * here, not by a Postgres error halfway through a batch.
 */

/** SMS Gate's deepest body (`system:ping` health checks) nests 5 levels; 32 leaves room for new fields. */
export const MAX_JSON_DEPTH = 32;

const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * True when `text` opens more than `max` objects or arrays inside each other. One pass over the
 * characters, no recursion: it runs before JSON.parse, so a 50,000-deep body never reaches
 * anything that recurses (zod, JSON.stringify, Postgres's jsonb parser, which overflows its
 * stack). Brackets inside strings do not count. Malformed JSON is left for JSON.parse to refuse.
 */
export function nestedDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > max) return true;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) depth--;
  }
  return false;
}

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
