import type { Queue } from "bullmq";
import type { Redis } from "ioredis";

/**
 * Where an attempt's `sms-send` job (jobId = sendJobId(message id, n): the message id itself
 * for attempt 1) stands, as far as the sweeper cares.
 */
export type JobPresence = "missing" | "finished" | "live";

/**
 * Looks up many jobs in one pipelined round trip. A job hash always has `timestamp`, and has
 * `finishedOn` only once completed or failed for good (a retry waiting out its backoff has
 * none), so two fields tell missing, finished (kept by removeOnComplete/removeOnFail) and
 * live (waiting, prioritized, delayed or active) apart.
 */
export async function jobPresence(redis: Redis, queue: Queue, ids: readonly string[]): Promise<Map<string, JobPresence>> {
  const out = new Map<string, JobPresence>();
  if (ids.length === 0) return out;
  const pipeline = redis.pipeline();
  for (const id of ids) pipeline.hmget(queue.toKey(id), "timestamp", "finishedOn");
  const replies = (await pipeline.exec()) ?? [];
  ids.forEach((id, i) => {
    const [err, fields] = replies[i] ?? [new Error("no reply"), null];
    if (err) throw err;
    const [timestamp, finishedOn] = fields as (string | null)[];
    out.set(id, timestamp == null ? "missing" : finishedOn != null ? "finished" : "live");
  });
  return out;
}
