import { enqueueSends, type SendToEnqueue } from "@inboxerr/contracts";
import type { ApiDeps } from "../deps";
import { withTimeout } from "../http/with-timeout";
import { ENQUEUE_CHUNK } from "./limits";

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
  const chunks: SendToEnqueue[][] = [];
  for (let i = 0; i < sends.length; i += ENQUEUE_CHUNK) chunks.push(sends.slice(i, i + ENQUEUE_CHUNK));
  const now = Date.now();
  // Chunks go out together: the client serialises one while Redis runs another.
  const results = await Promise.allSettled(
    chunks.map((chunk) => withTimeout(enqueueSends(deps.queues.smsSend, chunk, now), deps.redisTimeoutMs, "enqueue")),
  );
  let failed = 0;
  results.forEach((r, i) => {
    if (r.status === "rejected") failed += fail(deps, chunks[i]!.length, r.reason);
  });
  return failed;
}

function fail(deps: ApiDeps, messages: number, err: unknown): number {
  deps.metrics.enqueueFailures.inc(messages);
  deps.logger.warn({ err, messages }, "enqueue failed; the sweeper will enqueue these messages");
  return messages;
}
