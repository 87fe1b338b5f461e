import { Queue, Worker, type Processor, type WorkerOptions } from "bullmq";
import type { Redis } from "ioredis";
import { JOB_DEFAULTS, toQueuePriority, type QueueName } from "./queues";
import type { MessageEventJob, SmsSendJob } from "./queues";

export type QueueContext = { connection: Redis; prefix: string };

export function createQueue<T>(name: QueueName, ctx: QueueContext): Queue<T> {
  return new Queue<T>(name, {
    connection: ctx.connection,
    prefix: ctx.prefix,
    defaultJobOptions: JOB_DEFAULTS[name],
  });
}

export function createWorker<T>(
  name: QueueName,
  processor: Processor<T>,
  ctx: QueueContext,
  opts: Omit<WorkerOptions, "connection" | "prefix"> = {},
): Worker<T> {
  return new Worker<T>(name, processor, { ...opts, connection: ctx.connection, prefix: ctx.prefix });
}

export type SendToEnqueue = { id: string; priority: number; sendAt?: Date | null };

/** Adds one `sms-send` job per message in one round trip; jobId = message id. */
export async function enqueueSends(queue: Queue<SmsSendJob>, sends: SendToEnqueue[], now = Date.now()): Promise<void> {
  if (sends.length === 0) return;
  await queue.addBulk(
    sends.map((s) => ({
      name: "send",
      data: { messageId: s.id },
      opts: {
        ...JOB_DEFAULTS["sms-send"],
        jobId: s.id,
        priority: toQueuePriority(s.priority),
        delay: s.sendAt ? Math.max(0, s.sendAt.getTime() - now) : 0,
      },
    })),
  );
}

/** Publishes outbox rows; jobId = event id, so a republish by the relay is a no-op. */
export async function publishEvents(queue: Queue<MessageEventJob>, events: MessageEventJob[]): Promise<void> {
  if (events.length === 0) return;
  await queue.addBulk(
    events.map((e) => ({
      name: e.status,
      data: e,
      opts: { ...JOB_DEFAULTS["message-events"], jobId: e.eventId },
    })),
  );
}
