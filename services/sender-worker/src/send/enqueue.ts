import type { Queue } from "bullmq";
import { sendJobId, toQueuePriority, type SmsSendJob } from "@inboxerr/contracts";

/** A message's `sms-send` job for attempt `n` (jobId sendJobId(id, n): the message id for n = 1). */
export type AttemptJob = { id: string; priority: number; n: number };

/**
 * Adds the jobs that make the given attempts, in one round trip. The job id names the attempt
 * number (ADR 0019), so the refusing worker's add and the sweeper's re-add stay one job, and a
 * kept finished job of attempt 1 does not swallow attempt 2's.
 */
export async function enqueueAttempts(queue: Queue<SmsSendJob>, jobs: readonly AttemptJob[]): Promise<void> {
  if (jobs.length === 0) return;
  await queue.addBulk(
    jobs.map((j) => ({ name: "send", data: { messageId: j.id }, opts: { jobId: sendJobId(j.id, j.n), priority: toQueuePriority(j.priority) } })),
  );
}
