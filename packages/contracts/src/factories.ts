import { Queue, Worker, type JobsOptions, type Processor, type WorkerOptions } from "bullmq";
import type { Redis } from "ioredis";
import { JOB_DEFAULTS, OUTBOX_EVENTS_PER_JOB, OUTBOX_QUEUES, queueTakes, sendJobId, toQueuePriority, type QueueName } from "./queues";
import type { MessageEventBatchJob, MessageEventJob, OutboxJobData, SmsSendJob } from "./queues";

export type QueueContext = { connection: Redis; prefix: string };

export function createQueue<T>(name: QueueName, ctx: QueueContext): Queue<T> {
  return new ObservedQueue<T>(name, {
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
  return new ObservedWorker<T>(name, processor, { ...opts, connection: ctx.connection, prefix: ctx.prefix });
}

/**
 * A Worker whose run() never rejects unobserved. BullMQ's resume() restarts a main loop that
 * ended while paused by calling run() with nobody awaiting it (the outage guard pauses and
 * resumes workers), so a failure there would be an unhandled rejection, which ends the process.
 * Here it becomes the worker's `error` event, which every service listens to and logs.
 */
class ObservedWorker<T> extends Worker<T> {
  override run(): Promise<void> {
    return super.run().catch((err: unknown) => {
      this.emit("error", err instanceof Error ? err : new Error(String(err)));
    });
  }
}

/**
 * A Queue whose close() leaves no unobserved error behind. On a shared connection that never
 * became ready (Redis down since boot), close() removes the connection wrapper's listeners while
 * its connect is still pending; when that connect fails later (the client is quit or
 * disconnected on shutdown), BullMQ re-emits the failure as an 'error' nobody listens to, and
 * the throw becomes an unhandled rejection, which ends the process.
 */
class ObservedQueue<T> extends Queue<T> {
  override async close(): Promise<void> {
    await super.close();
    this.connection.on("error", () => undefined);
  }
}

export type SendToEnqueue = {
  id: string;
  priority: number;
  sendAt?: Date | null;
  /** The attempt this job makes (default 1); a later one gets its own jobId (sendJobId). */
  attempt?: number;
};

/**
 * Adds one `sms-send` job per message in one round trip; jobId = sendJobId(id, attempt). Only the per-job
 * options are set here: attempts, backoff and retention come from the queue's
 * defaultJobOptions (JOB_DEFAULTS, see createQueue), which BullMQ's addBulk merges into every
 * job, so they are not copied into each job's opts (that copy was ~1 KB of garbage per job).
 */
export async function enqueueSends(queue: Queue<SmsSendJob>, sends: readonly SendToEnqueue[], now = Date.now()): Promise<void> {
  if (sends.length === 0) return;
  const jobs = new Array<{ name: string; data: SmsSendJob; opts: { jobId: string; priority: number; delay: number } }>(sends.length);
  for (let i = 0; i < sends.length; i++) {
    const s = sends[i]!;
    jobs[i] = {
      name: "send",
      data: { messageId: s.id },
      opts: { jobId: sendJobId(s.id, s.attempt), priority: toQueuePriority(s.priority), delay: s.sendAt ? Math.max(0, s.sendAt.getTime() - now) : 0 },
    };
  }
  await queue.addBulk(jobs);
}

/** The outbox's queues: one per consumer (OUTBOX_QUEUES), each taking the statuses it reads. */
export type OutboxQueues = readonly Queue<OutboxJobData>[];

/** Opens one producer queue per outbox consumer; close each when done. */
export function createOutboxQueues(ctx: QueueContext): OutboxQueues {
  return OUTBOX_QUEUES.map((name) => createQueue<OutboxJobData>(name, ctx));
}

/**
 * The addBulk entries that put outbox rows on one consumer's queue (ADR 0024): the rows it takes
 * (queueTakes), in order, in jobs of up to OUTBOX_EVENTS_PER_JOB named `events`, with BullMQ's
 * own job ids. None taken is an empty list, and no addBulk is owed. A repeat (the relay
 * republishing, a retry after one queue failed) is a second job with the same events, which
 * consumers drop by event id. Only packages/outbox publishes; tests use this to stand in for a
 * publisher.
 */
export function eventBulkJobs(queue: QueueName, events: readonly MessageEventJob[]) {
  const opts = JOB_DEFAULTS[queue];
  const taken = events.filter((e) => queueTakes(queue, e.status));
  const jobs: { name: "events"; data: MessageEventBatchJob; opts: JobsOptions }[] = [];
  for (let i = 0; i < taken.length; i += OUTBOX_EVENTS_PER_JOB) jobs.push({ name: "events", data: { events: taken.slice(i, i + OUTBOX_EVENTS_PER_JOB) }, opts: { ...opts } });
  return jobs;
}

/**
 * The pre-0024 shape: one event as a job's whole data, jobId = event id, named by its status.
 * Consumers still read it (older publishers during a rolling upgrade, the legacy
 * `message-events` queue); nothing publishes it but tests of that, and the bench's raw
 * baseline (one signed POST per job).
 */
export function singleEventJob(queue: QueueName, event: MessageEventJob) {
  return { name: event.status, data: event, opts: { ...JOB_DEFAULTS[queue], jobId: event.eventId } satisfies JobsOptions };
}
