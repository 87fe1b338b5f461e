/** Small HTTP helpers shared by the SMS Gate driver; kept apart so they are testable alone. */

export function basicAuth(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`, "utf8").toString("base64")}`;
}

/**
 * Parses `Retry-After` (RFC 9110: delay-seconds or an HTTP-date) into milliseconds from
 * `now`. Returns null when absent or unparseable, so the caller falls back to its backoff.
 */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | null {
  if (value == null) return null;
  const trimmed = value.trim();
  if (trimmed === "") return null;
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  // Only an HTTP-date carries a weekday comma; this keeps "1.5" or "-3" from parsing as dates.
  if (!trimmed.includes(",")) return null;
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return null;
  return Math.max(0, at - now);
}

const MAX_TEXT_LENGTH = 500;
// Half of a surrogate pair: JSON can carry it ("\ud800"), UTF-8 text and Postgres jsonb cannot.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * Makes a string the gateway sent us safe to store and log: strips NUL (Postgres refuses it in
 * text), replaces unpaired surrogates with U+FFFD (refused in jsonb) and truncates long ones.
 * The sender writes these into `messages.error` and event payloads, batched with other jobs'
 * writes, so one unstorable body would otherwise fail the whole batch.
 */
export function cleanGatewayText(value: string, max: number = MAX_TEXT_LENGTH): string {
  const text = value.replaceAll("\u0000", "");
  const cut = text.length > max ? `${text.slice(0, max)}…` : text;
  return cut.replace(LONE_SURROGATE, "\uFFFD");
}

/**
 * The gateway's own explanation from an error body: SMS Gate answers `{"message": ...}`
 * (plus `"error": "QueueLimitExceeded"` on 503). Falls back to the raw text, then the status.
 */
export function errorReason(status: number, body: string): string {
  const parsed = parseJsonObject(body);
  const message = typeof parsed?.message === "string" ? parsed.message : undefined;
  const error = typeof parsed?.error === "string" ? parsed.error : undefined;
  const text = cleanGatewayText((message ?? error ?? (parsed ? "" : body)).trim());
  return text ? text : `HTTP ${status}`;
}

export function parseJsonObject(body: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(body);
    return value !== null && typeof value === "object" && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

/** Describes a fetch rejection without leaking the URL's credentials or a stack. */
export function networkReason(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError")) {
    return `timeout after ${timeoutMs} ms`;
  }
  const cause = err instanceof Error ? (err.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
  const detail =
    (typeof cause?.code === "string" && cause.code) ||
    (typeof cause?.message === "string" && cause.message) ||
    (err instanceof Error ? err.message : String(err));
  return cleanGatewayText(`network error: ${detail}`);
}
