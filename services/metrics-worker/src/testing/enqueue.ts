import type { Queue } from "bullmq";
import { eventBulkJobs, type MessageEventJob, type OutboxJobData, type QueueName } from "@inboxerr/contracts";

/** Puts events on queues as a publisher would (batch jobs, ADR 0024), without the outbox's stamp. */
export async function enqueueEvents(queues: readonly Queue<OutboxJobData>[], events: readonly MessageEventJob[]): Promise<void> {
  for (const queue of queues) await queue.addBulk(eventBulkJobs(queue.name as QueueName, events));
}
