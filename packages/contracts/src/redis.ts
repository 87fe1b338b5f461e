import { Redis, type RedisOptions } from "ioredis";

/**
 * `producer`: request paths. Fails fast when Redis is down (no offline queue, one retry),
 * because the rows are already committed and the sweeper enqueues them later.
 * `worker`: blocking consumers. BullMQ requires maxRetriesPerRequest null and reconnects forever.
 */
export function createRedis(url: string, role: "producer" | "worker", extra: RedisOptions = {}): Redis {
  const common: RedisOptions = {
    connectTimeout: 3_000,
    retryStrategy: (times) => Math.min(times * 200, 2_000),
    ...extra,
  };
  const redis =
    role === "producer"
      ? // No ready check: its INFO is sent with the offline queue off, so a disconnect while it
        // is in flight rejects inside ioredis with nothing to catch it (seen on shutdown races).
        new Redis(url, { ...common, enableOfflineQueue: false, maxRetriesPerRequest: 1, enableReadyCheck: false })
      : new Redis(url, { ...common, maxRetriesPerRequest: null, enableReadyCheck: false });
  // An unhandled 'error' event would crash the process; callers log through their own listener.
  redis.on("error", () => undefined);
  return redis;
}
