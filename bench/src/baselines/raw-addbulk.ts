import { randomUUID } from "node:crypto";
import { createQueue, createRedis, enqueueSends, QUEUE_NAMES, type SmsSendJob } from "@inboxerr/contracts";

/** Jobs per addBulk, several in flight at once: BullMQ's fastest shape here, and the api's. */
const ADD_BULK_CHUNK = 2_500;

export type RawEnqueuer = {
  /** Adds `n` send jobs (concurrent addBulk calls of ADD_BULK_CHUNK); resolves with the ms taken. */
  add(n: number): Promise<number>;
  close(): Promise<void>;
};

/**
 * The floor of ingest: BullMQ `addBulk` of send jobs through the same enqueueSends the api uses
 * (same job options, jobId, priority), with nothing else: no HTTP, validation or Postgres.
 * Connected and warmed up (scripts loaded) before it resolves.
 */
export async function openRawEnqueuer(opts: { redisUrl: string; prefix: string }): Promise<RawEnqueuer> {
  const connection = createRedis(opts.redisUrl, "producer");
  const queue = createQueue<SmsSendJob>(QUEUE_NAMES.smsSend, { connection, prefix: opts.prefix });
  const add = async (n: number) => {
    const sends = Array.from({ length: n }, () => ({ id: randomUUID(), priority: 0 }));
    const chunks = Array.from({ length: Math.ceil(n / ADD_BULK_CHUNK) }, (_, i) => sends.slice(i * ADD_BULK_CHUNK, (i + 1) * ADD_BULK_CHUNK));
    const started = performance.now();
    await Promise.all(chunks.map((chunk) => enqueueSends(queue, chunk)));
    return performance.now() - started;
  };
  await queue.waitUntilReady();
  await add(1_000);
  return {
    add,
    async close() {
      await queue.close();
      connection.disconnect();
    },
  };
}
