import type { MessageEventJob } from "@inboxerr/contracts";
import { NO_SENDER_ID } from "@inboxerr/db";
import { normaliseReason } from "./reasons";

/** One metrics_buckets increment: transitions of one user into one status in one UTC minute. */
export type BucketDelta = {
  userId: string;
  /** ISO string of the minute's start, UTC. */
  bucketStart: string;
  status: MessageEventJob["status"];
  count: number;
  latencyMsSum: number;
};

/** One metrics_sender_buckets increment: as BucketDelta, of one user's events through one sender. */
export type SenderBucketDelta = BucketDelta & { senderId: string };

/** One metrics_failure_reasons increment: failed events of one user and sender (or none) with one reason, in one minute. */
export type FailureReasonDelta = { userId: string; senderId: string; bucketStart: string; reason: string; count: number };

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
  return sortedByKey(deltas);
}

/** foldBuckets per (user, sender, minute, status), of the events that name a sender. */
export function foldSenderBuckets(events: readonly MessageEventJob[]): SenderBucketDelta[] {
  const deltas = new Map<string, SenderBucketDelta>();
  for (const e of events) {
    if (e.senderId == null) continue;
    const senderId = e.senderId.toLowerCase();
    const bucketStart = minuteOf(e.occurredAt);
    const key = `${e.userId}|${senderId}|${bucketStart}|${e.status}`;
    const d = deltas.get(key) ?? { userId: e.userId, senderId, bucketStart, status: e.status, count: 0, latencyMsSum: 0 };
    d.count += 1;
    d.latencyMsSum += e.latencyMs ?? 0;
    deltas.set(key, d);
  }
  return sortedByKey(deltas);
}

/** Failed events per (user, minute, sender or NO_SENDER_ID, normalised reason); sorted like the buckets. */
export function foldFailureReasons(events: readonly MessageEventJob[]): FailureReasonDelta[] {
  const deltas = new Map<string, FailureReasonDelta>();
  for (const e of events) {
    if (e.status !== "failed") continue;
    const senderId = e.senderId?.toLowerCase() ?? NO_SENDER_ID;
    const bucketStart = minuteOf(e.occurredAt);
    const reason = normaliseReason(e.error);
    const key = `${e.userId}|${bucketStart}|${senderId}|${reason}`;
    const d = deltas.get(key) ?? { userId: e.userId, senderId, bucketStart, reason, count: 0 };
    d.count += 1;
    deltas.set(key, d);
  }
  return sortedByKey(deltas);
}

function sortedByKey<T>(deltas: Map<string, T>): T[] {
  return [...deltas.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, d]) => d);
}
