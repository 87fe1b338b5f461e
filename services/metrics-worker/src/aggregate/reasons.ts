/** The longest failure reason metrics keep (ADR 0021). */
export const REASON_MAX_CHARS = 100;

/** What a failed event with no reason counts under (events from before ADR 0021, a blank error). */
export const UNKNOWN_REASON = "unknown";

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

/**
 * The key a failure reason is counted under. Reasons are free text (the phone's, the gateway's
 * answer, ours), so the key space is kept bounded and repeated causes fold together: runs of
 * whitespace become one space, ids (UUIDs) become `<id>`, and only the first REASON_MAX_CHARS
 * characters count. Known gateway codes (`RESULT_ERROR_LIMIT_EXCEEDED`) are short and stay as they are.
 */
export function normaliseReason(error: string | null | undefined): string {
  const text = (error ?? "").replace(UUID, "<id>").replace(/\s+/g, " ").trim();
  if (text === "") return UNKNOWN_REASON;
  // Code points, not UTF-16 units: a cut must not leave half a surrogate pair.
  return [...text].slice(0, REASON_MAX_CHARS).join("").trimEnd();
}
