import { Redis } from "ioredis";

/**
 * SCAN + UNLINK every key starting with `prefix` (a run's or a test's BullMQ prefix); returns
 * how many went. One connection attempt: cleanup must not hang when Redis is down.
 */
export async function deleteKeysByPrefix(redisUrl: string, prefix: string): Promise<number> {
  if (/[*?[\]\\]/.test(prefix)) throw new Error(`prefix must not contain glob characters: ${prefix}`);
  const redis = new Redis(redisUrl, {
    lazyConnect: true,
    connectTimeout: 2_000,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
  });
  redis.on("error", () => {}); // the failing command reports it
  try {
    await redis.connect();
    let deleted = 0;
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
      cursor = next;
      if (keys.length > 0) deleted += await redis.unlink(...keys);
    } while (cursor !== "0");
    return deleted;
  } finally {
    redis.disconnect();
  }
}
