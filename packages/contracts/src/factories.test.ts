import { afterAll, describe, expect, it } from "vitest";
import { randomUUID } from "node:crypto";
import { once } from "node:events";
import type { Queue } from "bullmq";
import { createOutboxQueues, createQueue, createWorker, enqueueSends, eventBulkJobs, singleEventJob } from "./factories";
import { createRedis } from "./redis";
import {
  JOB_DEFAULTS,
  messageEventBatchJobSchema,
  OUTBOX_EVENTS_PER_JOB,
  OUTBOX_QUEUES,
  QUEUE_NAMES,
  type MessageEventBatchJob,
  type MessageEventJob,
  type QueueName,
  type SmsSendJob,
} from "./queues";

const connection = createRedis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379", "producer");
// Each test gets its own prefix so the queues it fills are its alone.
const ctx = () => ({ connection, prefix: `${process.env.QUEUE_PREFIX ?? "{t}"}:${randomUUID()}` });
const queues: Queue[] = [];

afterAll(async () => {
  for (const q of queues) await q.obliterate({ force: true }).catch(() => undefined);
  for (const q of queues) await q.close();
  await connection.quit();
});

describe("enqueueSends", () => {
  it("adds one job per message with the message id as job id, and a repeat adds nothing", async () => {
    const queue = createQueue<SmsSendJob>(QUEUE_NAMES.smsSend, ctx());
    queues.push(queue);
    const ids = Array.from({ length: 50 }, () => randomUUID());
    await enqueueSends(queue, ids.map((id) => ({ id, priority: 0 })));
    await enqueueSends(queue, ids.map((id) => ({ id, priority: 0 })));
    const counts = await queue.getJobCounts("wait", "prioritized", "delayed");
    expect((counts.wait ?? 0) + (counts.prioritized ?? 0) + (counts.delayed ?? 0)).toBe(50);
    const job = await queue.getJob(ids[0]!);
    expect(job?.data).toEqual({ messageId: ids[0] });
  });

  it("turns a future send time into a delay and orders the rest by priority, highest first", async () => {
    const queue = createQueue<SmsSendJob>(QUEUE_NAMES.smsSend, ctx());
    queues.push(queue);
    const [low, high, later] = [randomUUID(), randomUUID(), randomUUID()];
    const now = Date.now();
    await enqueueSends(queue, [
      { id: low, priority: -5 },
      { id: high, priority: 100 },
      { id: later, priority: 127, sendAt: new Date(now + 60_000) },
    ], now);
    expect(await queue.getJobState(later)).toBe("delayed");
    const waiting = await queue.getJobs(["prioritized"], 0, -1, true);
    const order = waiting.sort((a, b) => (a.priority ?? 0) - (b.priority ?? 0)).map((j) => j.id);
    expect(order).toEqual([high, low]);
  });
  it("leaves attempts, backoff and retention to the queue's defaultJobOptions, and they still apply", async () => {
    const queue = createQueue<SmsSendJob>(QUEUE_NAMES.smsSend, ctx());
    queues.push(queue);
    const id = randomUUID();
    await enqueueSends(queue, [{ id, priority: 3 }]);
    const job = await queue.getJob(id);
    const defaults = JOB_DEFAULTS[QUEUE_NAMES.smsSend];
    expect(job?.opts.attempts).toBe(defaults.attempts);
    expect(job?.opts.backoff).toEqual(defaults.backoff);
    expect(job?.opts.removeOnComplete).toEqual(defaults.removeOnComplete);
    expect(job?.opts.removeOnFail).toEqual(defaults.removeOnFail);
  });
});

describe("eventBulkJobs", () => {
  const eventOf = (status: MessageEventJob["status"]): MessageEventJob => ({
    eventId: randomUUID(),
    messageId: randomUUID(),
    userId: randomUUID(),
    status,
    occurredAt: new Date().toISOString(),
    latencyMs: 12,
  });

  it("puts the events on every consumer's queue in jobs of up to 200 named `events`, under BullMQ's own ids", async () => {
    const outbox = createOutboxQueues(ctx());
    queues.push(...outbox);
    expect(outbox.map((q) => q.name)).toEqual([...OUTBOX_QUEUES]);
    const events = Array.from({ length: OUTBOX_EVENTS_PER_JOB + 1 }, () => eventOf("accepted"));
    for (const queue of outbox) await queue.addBulk(eventBulkJobs(queue.name as QueueName, events));
    for (const queue of outbox) {
      const jobs = await queue.getJobs(["waiting"], 0, -1, true);
      expect(jobs.map((j) => messageEventBatchJobSchema.parse(j.data).events.length)).toEqual([OUTBOX_EVENTS_PER_JOB, 1]);
      expect(jobs.flatMap((j) => (j.data as MessageEventBatchJob).events)).toEqual(events);
      expect(jobs.every((j) => j.name === "events" && !events.some((e) => e.eventId === j.id))).toBe(true);
    }
  });

  it("leaves out the events a queue does not take: webhook-events gets only the customer-visible ones, and no job for none", () => {
    const statuses = ["queued", "sending", "accepted", "delivered", "scheduled", "failed"] as const;
    const events = statuses.map(eventOf);
    const statusesOn = (queue: QueueName) => eventBulkJobs(queue, events).flatMap((j) => j.data.events.map((e) => e.status));
    expect(statusesOn(QUEUE_NAMES.metricsEvents)).toEqual([...statuses]);
    expect(statusesOn(QUEUE_NAMES.legacyMessageEvents)).toEqual([...statuses]);
    expect(statusesOn(QUEUE_NAMES.webhookEvents)).toEqual(["accepted", "delivered", "failed"]);
    expect(eventBulkJobs(QUEUE_NAMES.webhookEvents, events.slice(0, 2))).toEqual([]);
    expect(eventBulkJobs(QUEUE_NAMES.metricsEvents, [])).toEqual([]);
  });

  it("chunks by the events a queue takes, not by the publish", () => {
    // 300 sending + 250 delivered, interleaved: metrics 550 (200, 200, 150), webhook-events 250 (200, 50).
    const events = Array.from({ length: 550 }, (_, i) => eventOf(i % 11 < 6 ? "sending" : "delivered"));
    const sizes = (queue: QueueName) => eventBulkJobs(queue, events).map((j) => j.data.events.length);
    expect(sizes(QUEUE_NAMES.metricsEvents)).toEqual([200, 200, 150]);
    expect(sizes(QUEUE_NAMES.webhookEvents)).toEqual([200, 50]);
  });
});

describe("singleEventJob", () => {
  it("makes the pre-0024 shape: the event as the job's data, jobId = event id, so a repeat add is a no-op", async () => {
    const [queue] = createOutboxQueues(ctx());
    queues.push(queue!);
    const event: MessageEventJob = { eventId: randomUUID(), messageId: randomUUID(), userId: randomUUID(), status: "sent", occurredAt: new Date().toISOString(), latencyMs: null };
    for (let i = 0; i < 2; i++) await queue!.addBulk([singleEventJob(queue!.name as QueueName, event)]);
    expect(await queue!.getWaitingCount()).toBe(1);
    expect((await queue!.getJob(event.eventId))?.data).toEqual(event);
  });
});

describe("createQueue", () => {
  it("closes on a connection that never became ready without leaving its failed connect unobserved", async () => {
    // Nothing listens there: each connect fails, and the client retries.
    const down = createRedis("redis://127.0.0.1:1", "producer");
    const queue = createQueue(QUEUE_NAMES.metricsEvents, { connection: down, prefix: "{t}" });
    queue.on("error", () => undefined);
    await once(down, "error");
    await queue.close();
    // Disconnected during a reconnect attempt, the client ends, and BullMQ's pending connect
    // rejects with the last error: without a listener left that is an unhandled rejection,
    // which vitest reports and fails the run on.
    await once(down, "connecting");
    const ended = once(down, "end");
    down.disconnect();
    await ended;
    await new Promise((resolve) => setImmediate(resolve));
    expect(down.status).toBe("end");
  });
});

describe("createWorker", () => {
  it("turns a failed run() into the worker's error event, never an unhandled rejection", async () => {
    // A worker connection (blocking commands need maxRetriesPerRequest: null).
    const workerConnection = createRedis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379", "worker");
    const worker = createWorker(QUEUE_NAMES.metricsEvents, async () => undefined, { ...ctx(), connection: workerConnection }, { autorun: false });
    const errors: Error[] = [];
    worker.on("error", (err) => errors.push(err));
    try {
      void worker.run();
      // A second run() rejects inside BullMQ ("already running"), as a run() started by resume() may.
      await expect(worker.run()).resolves.toBeUndefined();
      expect(errors.map((e) => e.message)).toEqual(["Worker is already running."]);
    } finally {
      await worker.close();
      await workerConnection.quit();
    }
  });
});
