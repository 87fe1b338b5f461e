import { AppError } from "@inboxerr/http";

const DEFAULT_WINDOW_MS = 24 * 3_600_000;
export const MAX_WINDOW_DAYS = 366;
/** A dense series longer than this is too big to chart or to send; ask for a coarser granularity. */
export const MAX_SERIES_BUCKETS = 1_500;

export type TimeWindow = { from: Date; to: Date };

/**
 * The `[from, to)` window of a metrics query. `to` defaults to now and `from` to 24 h before
 * `to`. Buckets are UTC minutes, so a bucket counts when its start is in the window: pass
 * minute-aligned bounds for an exact window.
 */
export function resolveWindow(query: { from?: string | undefined; to?: string | undefined }, now = new Date()): TimeWindow {
  const to = query.to ? new Date(query.to) : now;
  const from = query.from ? new Date(query.from) : new Date(to.getTime() - DEFAULT_WINDOW_MS);
  if (from.getTime() >= to.getTime()) {
    throw invalid(query.from ? "from" : "to", "`from` must be before `to`");
  }
  if (to.getTime() - from.getTime() > MAX_WINDOW_DAYS * 86_400_000) {
    throw invalid("to", `the window may span at most ${MAX_WINDOW_DAYS} days`);
  }
  return { from, to };
}

const STEP_MS = { minute: 60_000, hour: 3_600_000, day: 86_400_000 } as const;

/**
 * How many buckets a series shows when the query gives no `from`: an hour of minutes, a day of
 * hours, a month of days. One 24-hour default for every granularity gave 1,441 minute buckets.
 */
const DEFAULT_SERIES_BUCKETS = { minute: 60, hour: 24, day: 30 } as const;

/**
 * The window of a series: as resolveWindow when `from` is given; otherwise exactly
 * DEFAULT_SERIES_BUCKETS whole buckets of the granularity, the last one holding `to`.
 */
export function resolveSeriesWindow(
  query: { from?: string | undefined; to?: string | undefined },
  granularity: keyof typeof STEP_MS,
  now = new Date(),
): TimeWindow {
  if (query.from) return resolveWindow(query, now);
  const to = query.to ? new Date(query.to) : now;
  const step = STEP_MS[granularity];
  const from = new Date((Math.ceil(to.getTime() / step) - DEFAULT_SERIES_BUCKETS[granularity]) * step);
  return resolveWindow({ from: from.toISOString(), to: to.toISOString() }, now);
}

/**
 * Every bucket start of the window at this granularity, oldest first: from `from` floored to
 * the granularity (in UTC, where every day has 24 hours) up to, not including, `to`.
 */
export function bucketStarts(window: TimeWindow, granularity: keyof typeof STEP_MS): Date[] {
  const step = STEP_MS[granularity];
  const first = Math.floor(window.from.getTime() / step) * step;
  const n = Math.ceil((window.to.getTime() - first) / step);
  if (n > MAX_SERIES_BUCKETS) {
    throw invalid("granularity", `${n} ${granularity} buckets is more than ${MAX_SERIES_BUCKETS}: use a coarser granularity or a shorter window`);
  }
  return Array.from({ length: n }, (_, i) => new Date(first + i * step));
}

function invalid(path: string, detail: string): AppError {
  return new AppError("validation_failed", detail, { errors: [{ path, detail }] });
}
