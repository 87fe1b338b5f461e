import type { MessageEventJob } from "@inboxerr/contracts";

/** One metrics_buckets increment: transitions of one user into one status in one UTC minute. */
export type BucketDelta = {
  userId: string;
  /** ISO string of the minute's start, UTC. */
  bucketStart: string;
  status: MessageEventJob["status"];
  count: number;
  latencyMsSum: number;
};

const MINUTE_MS = 60_000;

/** The UTC minute an event's server-side time falls in (the offset in the string is honoured). */
export function minuteOf(occurredAt: string): string {
  const ms = Date.parse(occurredAt);
  return new Date(Math.floor(ms / MINUTE_MS) * MINUTE_MS).toISOString();
}

/**
 * Sums events into one delta per (user, minute, status), so a campaign's thousands of
 * events in a minute cost one row update, not one per event. Sorted by key: concurrent
 * upserts (several replicas) then take row locks in the same order and cannot deadlock.
 */
export function foldBuckets(events: readonly MessageEventJob[]): BucketDelta[] {
  const deltas = new Map<string, BucketDelta>();
  for (const e of events) {
    const bucketStart = minuteOf(e.occurredAt);
    const key = `${e.userId}|${bucketStart}|${e.status}`;
    const d = deltas.get(key) ?? { userId: e.userId, bucketStart, status: e.status, count: 0, latencyMsSum: 0 };
    d.count += 1;
    d.latencyMsSum += e.latencyMs ?? 0;
    deltas.set(key, d);
  }
  return [...deltas.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, d]) => d);
}
