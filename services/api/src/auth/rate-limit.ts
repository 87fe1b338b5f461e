import { createHash } from "node:crypto";
import type { RequestHandler } from "express";
import type { Redis } from "ioredis";
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from "rate-limiter-flexible";
import { AppError } from "@inboxerr/http";

export type RateLimitOptions = {
  /** Attempts allowed per window and key (an IP, an account). */
  points: number;
  durationSeconds: number;
  /** Redis key prefix; distinct per deployment (and per test app). */
  keyPrefix: string;
};

/**
 * Counted in Redis so a limit holds across api replicas. When Redis is down it falls back to a
 * per-process memory limiter rather than failing open or failing every login.
 */
function redisLimiter(redis: Redis, name: string, opts: RateLimitOptions): RateLimiterRedis {
  const common = { points: opts.points, duration: opts.durationSeconds, keyPrefix: `${opts.keyPrefix}:${name}` };
  return new RateLimiterRedis({ ...common, storeClient: redis, rejectIfRedisNotReady: true, insuranceLimiter: new RateLimiterMemory(common) });
}

/** Consumes one point for `key`; a spent limit becomes 429 with Retry-After. */
async function consumeOr429(limiter: RateLimiterRedis, key: string, detail: string): Promise<void> {
  try {
    await limiter.consume(key);
  } catch (err) {
    if (err instanceof RateLimiterRes) {
      throw new AppError("rate_limited", detail, { retryAfterSeconds: Math.max(1, Math.ceil(err.msBeforeNext / 1000)) });
    }
    throw err;
  }
}

/** Per-IP limit for credential endpoints. Every attempt counts, not just failures: each one costs a scrypt. */
export function ipRateLimit(redis: Redis, name: string, opts: RateLimitOptions): RequestHandler {
  const limiter = redisLimiter(redis, name, opts);
  return async (req, _res, next) => {
    await consumeOr429(limiter, req.ip ?? "unknown", `Too many ${name} attempts; retry later`);
    next();
  };
}

export type AccountLoginLimit = {
  /**
   * Counts a login attempt for `email` before its password is checked, and throws 429 once the
   * account has used its attempts: checked first, a right password could not slip through a
   * block, and concurrent guesses cannot all pass a read-then-write check.
   */
  attempt(email: string): Promise<void>;
  /** A right password clears the account's count, so only failures accumulate. */
  succeeded(email: string): Promise<void>;
};

/**
 * Failed logins per account, across replicas and IPs (a botnet spreads its guesses over many
 * IPs, which the per-IP limit cannot see). The key is a hash of the normalised email, whether
 * or not an account has it: the answer must not tell which emails exist, and Redis holds no
 * email addresses. The cost is the usual one of account lockout: while someone guesses at an
 * account, its owner waits out the window too.
 */
export function accountLoginLimit(redis: Redis, opts: RateLimitOptions): AccountLoginLimit {
  const limiter = redisLimiter(redis, "login-account", opts);
  const key = (email: string) => createHash("sha256").update(email.trim().toLowerCase()).digest("hex");
  return {
    attempt: (email) => consumeOr429(limiter, key(email), "Too many failed logins for this email; retry later"),
    async succeeded(email) {
      // Best effort: a count left behind only expires with its window; the login still succeeds.
      await limiter.delete(key(email)).catch(() => undefined);
    },
  };
}
