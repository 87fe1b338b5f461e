import { randomUUID } from "node:crypto";
import { createQueue, createRedis, createWorker, QUEUE_NAMES, singleEventJob, type MessageEventJob } from "@inboxerr/contracts";
import { waitFor } from "@inboxerr/testing";
import { messageEventType, signedHeaders } from "@inboxerr/webhooks";
import { Agent, request } from "undici";

export type RawWebhookOptions = {
  redisUrl: string;
  prefix: string;
  /** Where each job goes: job i to urls[i % urls.length] (one per endpoint, as the dispatcher's). */
  urls: readonly string[];
  secret: string;
  total: number;
  concurrency: number;
  timeoutMs: number;
};

/**
 * The floor of customer webhook delivery: a BullMQ worker on a `webhook-events` queue of its
 * own whose job is one signed POST (signedHeaders, undici `request` on a keep-alive Agent, the
 * answer read) of the event the job carries. No Postgres: no fan-out rows, no endpoint lookup,
 * no attempt log, no message read. Fills its queue first, then runs until every job is done;
 * the rate is taken at the receiver, as the dispatcher's is.
 */
export async function rawWebhookWorker(opts: RawWebhookOptions): Promise<{ completed: number; failed: number }> {
  const producer = createRedis(opts.redisUrl, "producer");
  const queue = createQueue<MessageEventJob>(QUEUE_NAMES.webhookEvents, { connection: producer, prefix: opts.prefix });
  const consumer = createRedis(opts.redisUrl, "worker");
  const agent = new Agent({ keepAliveTimeout: 30_000 });
  let completed = 0;
  let failed = 0;
  let n = 0;
  const worker = createWorker<MessageEventJob>(
    QUEUE_NAMES.webhookEvents,
    async (job) => {
      const body = JSON.stringify({ type: messageEventType(job.data.status), timestamp: job.data.occurredAt, data: job.data });
      const res = await request(opts.urls[n++ % opts.urls.length]!, {
        method: "POST",
        dispatcher: agent,
        headersTimeout: 10_000,
        bodyTimeout: 10_000,
        headers: {
          ...signedHeaders([opts.secret], job.data.eventId, Math.floor(Date.now() / 1000), body),
          "content-type": "application/json",
          "user-agent": "Inboxerr-Webhooks/1",
        },
        body,
      });
      await res.body.text();
      if (res.statusCode < 200 || res.statusCode >= 300) throw new Error(`receiver answered ${res.statusCode}`);
    },
    { connection: consumer, prefix: opts.prefix },
    { concurrency: opts.concurrency, autorun: false },
  );
  worker.on("completed", () => (completed += 1));
  worker.on("failed", () => (failed += 1));
  worker.on("error", () => undefined);
  try {
    await queue.waitUntilReady();
    for (let i = 0; i < opts.total; i += 5_000) {
      const events = Array.from({ length: Math.min(5_000, opts.total - i) }, (): MessageEventJob => ({
        eventId: randomUUID(),
        messageId: randomUUID(),
        userId: randomUUID(),
        status: "delivered",
        occurredAt: new Date().toISOString(),
        latencyMs: 0,
        senderId: null,
        error: null,
      }));
      // One event per job, jobId = event id (the pre-0024 shape, ADR 0024): the issue's
      // baseline is one signed POST per job, not the dispatcher's batch jobs.
      await queue.addBulk(events.map((e) => singleEventJob(QUEUE_NAMES.webhookEvents, e)));
    }
    void worker.run();
    await waitFor(() => completed + failed >= opts.total, {
      timeoutMs: opts.timeoutMs,
      intervalMs: 100,
      message: `raw webhook worker finished ${completed} of ${opts.total}`,
    });
    return { completed, failed };
  } finally {
    await worker.close();
    await queue.close();
    await agent.close();
    producer.disconnect();
    consumer.disconnect();
  }
}
