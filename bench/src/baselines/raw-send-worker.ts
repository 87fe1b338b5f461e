import { randomUUID } from "node:crypto";
import { createQueue, createRedis, createWorker, enqueueSends, QUEUE_NAMES, type SmsSendJob } from "@inboxerr/contracts";
import { waitFor } from "@inboxerr/testing";
import { testNumber } from "../harness/env";

export type RawSendOptions = {
  redisUrl: string;
  prefix: string;
  /** Base URL of the gateway API, up to and including /3rdparty/v1. */
  gatewayUrl: string;
  username: string;
  password: string;
  deviceId: string;
  total: number;
  concurrency: number;
  timeoutMs: number;
};

/**
 * The floor of the drain: a BullMQ worker (same concurrency as the sender) whose job is nothing
 * but the one gateway POST the sender makes per message (same body shape, fetch with
 * keep-alive, the answer read to the end). No Postgres, no status writes, no outbox.
 * Fills its own queue first; returns jobs per second in the steady state: from the completion
 * of the first 10% (warm-up: JIT, connections) to the last, as the sender's figure is taken.
 */
export async function rawSendWorker(opts: RawSendOptions): Promise<{ rate: number; meanPostMs: number }> {
  const producer = createRedis(opts.redisUrl, "producer");
  const queue = createQueue<SmsSendJob>(QUEUE_NAMES.smsSend, { connection: producer, prefix: opts.prefix });
  const consumer = createRedis(opts.redisUrl, "worker");
  const authorization = `Basic ${Buffer.from(`${opts.username}:${opts.password}`).toString("base64")}`;
  const completions: number[] = [];
  let failed = 0;
  let sent = 0;
  let postMs = 0;
  const worker = createWorker<SmsSendJob>(
    QUEUE_NAMES.smsSend,
    async (job) => {
      const t = performance.now();
      const res = await fetch(`${opts.gatewayUrl}/messages`, {
        method: "POST",
        signal: AbortSignal.timeout(10_000),
        headers: { authorization, accept: "application/json", "content-type": "application/json" },
        body: JSON.stringify({
          id: job.data.messageId,
          textMessage: { text: "Hello from the Inboxerr benchmark" },
          phoneNumbers: [testNumber(sent++)],
          deviceId: opts.deviceId,
          withDeliveryReport: true,
        }),
      });
      await res.text();
      postMs += performance.now() - t;
      if (res.status !== 202 && res.status !== 409) throw new Error(`gateway answered ${res.status}`);
    },
    { connection: consumer, prefix: opts.prefix },
    { concurrency: opts.concurrency, autorun: false },
  );
  worker.on("completed", () => completions.push(performance.now()));
  worker.on("failed", () => (failed += 1));
  worker.on("error", () => undefined);
  try {
    await queue.waitUntilReady();
    for (let i = 0; i < opts.total; i += 10_000) {
      const n = Math.min(10_000, opts.total - i);
      await enqueueSends(queue, Array.from({ length: n }, () => ({ id: randomUUID(), priority: 0 })));
    }
    void worker.run();
    await waitFor(() => completions.length + failed >= opts.total, {
      timeoutMs: opts.timeoutMs,
      intervalMs: 100,
      message: `raw worker finished ${completions.length} of ${opts.total}`,
    });
    if (failed > 0) throw new Error(`raw worker: ${failed} gateway calls failed`);
    return { rate: steadyRate(completions), meanPostMs: postMs / Math.max(completions.length, 1) };
  } finally {
    await worker.close();
    await queue.close();
    producer.disconnect();
    consumer.disconnect();
  }
}

/** Completions per second after the first 10% of them (the warm-up), given their times in ms. */
function steadyRate(times: number[]): number {
  const from = Math.floor(times.length * WARM_UP_SHARE);
  const span = (times.at(-1)! - times[from]!) / 1000;
  return span > 0 ? (times.length - 1 - from) / span : 0;
}

export const WARM_UP_SHARE = 0.1;
