/**
 * Sum and count of a Prometheus histogram or summary, across its labels, from a service's
 * /metrics; undefined when the service does not export it (names belong to the services).
 */
export type HistogramReading = { sum: number; count: number; mean: number };

export async function scrapeHistogram(metricsUrl: string, name: string): Promise<HistogramReading | undefined> {
  const text = await fetch(metricsUrl, { signal: AbortSignal.timeout(5_000) }).then(
    (r) => r.text(),
    () => "",
  );
  let sum = 0;
  let count = 0;
  for (const line of text.split("\n")) {
    const m = /^(\S+?)(?:\{[^}]*\})? (\S+)$/.exec(line);
    if (!m) continue;
    if (m[1] === `${name}_sum`) sum += Number(m[2]);
    if (m[1] === `${name}_count`) count += Number(m[2]);
  }
  return count > 0 ? { sum, count, mean: sum / count } : undefined;
}

/** The mean over the observations made between two readings. */
export function meanBetween(before: HistogramReading | undefined, after: HistogramReading | undefined): number | undefined {
  if (!after) return undefined;
  const count = after.count - (before?.count ?? 0);
  return count > 0 ? (after.sum - (before?.sum ?? 0)) / count : undefined;
}
