/**
 * Formats an instant the way the phone does: ISO 8601 with milliseconds and the device's
 * UTC offset ("2024-06-22T15:46:11.000+07:00"), so receivers must honour the offset.
 */
export function phoneTimestamp(epochMs: number, offsetMinutes: number): string {
  const local = new Date(epochMs + offsetMinutes * 60_000).toISOString().slice(0, 23);
  const sign = offsetMinutes < 0 ? "-" : "+";
  const abs = Math.abs(offsetMinutes);
  const hh = String(Math.floor(abs / 60)).padStart(2, "0");
  const mm = String(abs % 60).padStart(2, "0");
  return `${local}${sign}${hh}:${mm}`;
}
