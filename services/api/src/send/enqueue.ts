import { withTimeout } from "@inboxerr/batch";
import { enqueueSends, type SendToEnqueue } from "@inboxerr/contracts";
import type { ApiDeps } from "../deps";
import { ENQUEUE_CHUNK, ENQUEUE_IN_FLIGHT } from "./limits";

/**
 * Adds the `sms-send` jobs for rows that are already committed. Never throws: a failure or
 * timeout leaves those messages `queued`/`scheduled` in Postgres, where the sweeper finds and
 * enqueues them (jobId = message id, so a late duplicate add is a no-op). Returns how many
 * messages were not confirmed enqueued.
 */
export async function enqueueCommitted(deps: ApiDeps, sends: SendToEnqueue[]): Promise<number> {
  // Not connected (down, or never was since boot): BullMQ would wait for the connection, so
  // skip straight to the sweeper's path instead of spending the timeout.
  if (deps.redis.status !== "ready") return fail(deps, sends.length, new Error(`redis is ${deps.redis.status}`));
  const now = Date.now();
  // ENQUEUE_IN_FLIGHT chunks at a time: the client serialises one while Redis runs another,
  // yet only that many chunks' BullMQ/ioredis command state (~2.5 KB a job until Redis answers)
  // is alive at once; sending every chunk together multiplied the api's peak memory.
  // After a failure no further chunk is tried (the sweeper has them), so a slow Redis costs
  // about one timeout, not one per chunk.
  let next = 0;
  let failed = 0;
  let stopped = false;
  const lane = async () => {
    while (!stopped && next < sends.length) {
      const chunk = sends.slice(next, next + ENQUEUE_CHUNK);
      next += chunk.length;
      try {
        await withTimeout(enqueueSends(deps.queues.smsSend, chunk, now), deps.redisTimeoutMs, "enqueue");
      } catch (err) {
        stopped = true;
        failed += fail(deps, chunk.length, err);
      }
    }
  };
  await Promise.all(Array.from({ length: ENQUEUE_IN_FLIGHT }, lane));
  if (next < sends.length) failed += fail(deps, sends.length - next, new Error("an earlier chunk failed"));
  return failed;
}

function fail(deps: ApiDeps, messages: number, err: unknown): number {
  deps.metrics.enqueueFailures.inc(messages);
  deps.logger.warn({ err, messages }, "enqueue failed; the sweeper will enqueue these messages");
  return messages;
}
