import type { RequestHandler } from "express";
import type { Redis } from "ioredis";
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from "rate-limiter-flexible";
import { AppError } from "@inboxerr/http";

export type RateLimitOptions = {
  /** Attempts allowed per window and IP. */
  points: number;
  durationSeconds: number;
  /** Redis key prefix; distinct per deployment (and per test app). */
  keyPrefix: string;
};

/**
 * Per-IP limit for credential endpoints, counted in Redis so it holds across api replicas.
 * When Redis is down it falls back to a per-process memory limiter rather than failing open
 * or failing every login. Every attempt counts, not just failures: each one costs a scrypt.
 */
export function ipRateLimit(redis: Redis, name: string, opts: RateLimitOptions): RequestHandler {
  const common = { points: opts.points, duration: opts.durationSeconds, keyPrefix: `${opts.keyPrefix}:${name}` };
  const limiter = new RateLimiterRedis({
    ...common,
    storeClient: redis,
    rejectIfRedisNotReady: true,
    insuranceLimiter: new RateLimiterMemory(common),
  });
  return async (req, _res, next) => {
    try {
      await limiter.consume(req.ip ?? "unknown");
    } catch (err) {
      if (err instanceof RateLimiterRes) {
        throw new AppError("rate_limited", `Too many ${name} attempts; retry later`, {
          retryAfterSeconds: Math.max(1, Math.ceil(err.msBeforeNext / 1000)),
        });
      }
      throw err;
    }
    next();
  };
}
