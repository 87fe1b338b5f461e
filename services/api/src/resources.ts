import { withTimeout } from "@inboxerr/batch";
import { QUEUE_NAMES, createOutboxQueues, createQueue, createRedis, type SmsSendJob } from "@inboxerr/contracts";
import { createDb } from "@inboxerr/db";
import type { Logger } from "@inboxerr/logger";
import type { ApiConfig } from "./config";
import type { ApiQueues } from "./deps";

/**
 * The api's connections, opened by main.ts (and the end-to-end tests) and handed to createApp.
 * Postgres answers within ~2.5 s or the request gets 503; no statement may run past 15 s, and
 * a query that gets no answer at all (a network partition) is given up after 20 s.
 */
export function openResources(config: Pick<ApiConfig, "DATABASE_URL" | "REDIS_URL" | "QUEUE_PREFIX">, logger: Logger) {
  const db = createDb(config.DATABASE_URL, {
    applicationName: "inboxerr-api",
    max: 20,
    connectionTimeoutMillis: 2_500,
    statementTimeoutMs: 15_000,
    queryTimeoutMs: 20_000,
    onError: (err) => logger.warn({ err }, "idle postgres connection failed"),
  });
  const redis = createRedis(config.REDIS_URL, "producer");
  const ctx = { connection: redis, prefix: config.QUEUE_PREFIX };
  const queues: ApiQueues = {
    smsSend: createQueue<SmsSendJob>(QUEUE_NAMES.smsSend, ctx),
    outbox: createOutboxQueues(ctx),
  };
  // A Redis outage errors on every reconnect attempt; one line per 30 s says it without flooding.
  const warnRedis = throttled(30_000, (err: Error) => logger.warn({ err }, "redis unavailable; sends stay queued in postgres"));
  redis.on("error", warnRedis);
  queues.smsSend.on("error", warnRedis);
  for (const q of queues.outbox) q.on("error", warnRedis);
  // Each close is bounded: shutdown must finish even with Redis or Postgres gone.
  const close = async () => {
    await Promise.allSettled([queues.smsSend, ...queues.outbox].map((q) => q.close()).map((p) => withTimeout(p, 3_000, "queue close")));
    await withTimeout(redis.quit(), 2_000, "redis quit").catch(() => redis.disconnect());
    await withTimeout(db.close(), 5_000, "postgres close").catch((err: unknown) => logger.warn({ err }, "postgres pool did not close"));
  };
  return { db, redis, queues, close };
}

function throttled<A extends unknown[]>(ms: number, fn: (...args: A) => void): (...args: A) => void {
  let last = 0;
  return (...args) => {
    const now = Date.now();
    if (now - last < ms) return;
    last = now;
    fn(...args);
  };
}
