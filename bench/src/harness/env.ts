import { parseConfig } from "@inboxerr/config";
import { DEFAULT_DATABASE_URL } from "@inboxerr/db/migrate";

/** The Postgres server the scratch databases go on (its own database is never touched). */
export const serverUrl = (): string => process.env.DATABASE_URL || DEFAULT_DATABASE_URL;
export const redisUrl = (): string => process.env.REDIS_URL || "redis://127.0.0.1:6379";

/** Fixed, bench-only credentials: every service of a stage shares them, nothing leaves loopback. */
export const BENCH_SECRETS = {
  JWT_SECRET: "bench-only-jwt-secret-0123456789abcdef0123456789",
  SMSGATE_USERNAME: "bench",
  SMSGATE_PASSWORD: "bench-only-gateway-password",
  SMSGATE_WEBHOOK_SIGNING_KEY: "bench-only-webhook-signing-key",
  // Pinned so the sender, the simulator and hand-made webhooks agree on the device.
  SMSGATE_DEVICE_ID: "benchDevice0000000001",
} as const;

/**
 * Env every stage gives its services: its own database and prefix, quiet logs, a zero-latency
 * simulator that never fails (stages that want failures say so), workers at their defaults.
 */
export function serviceEnv(databaseUrl: string, queuePrefix: string): NodeJS.ProcessEnv {
  return {
    ...BENCH_SECRETS,
    NODE_ENV: "production",
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl(),
    QUEUE_PREFIX: queuePrefix,
    LOG_LEVEL: "warn",
    LOG_MESSAGE_TEXT: "false",
    DEFAULT_PHONE_REGION: "US",
    SIMULATOR_LATENCY_MS: "0",
    SIMULATOR_FAILURE_RATE: "0",
    SIMULATOR_RATE_LIMIT: "0",
    SIMULATOR_SEED: "bench",
    SENDER_CONCURRENCY: String(SENDER_CONCURRENCY),
    SENDER_RATE_LIMIT: "0",
  };
}

/**
 * Jobs in flight for the sender and for the raw worker it is compared with: the service default,
 * or BENCH_SENDER_CONCURRENCY to see how the drain scales with it.
 */
export const SENDER_CONCURRENCY = process.env.BENCH_SENDER_CONCURRENCY
  ? Number(process.env.BENCH_SENDER_CONCURRENCY)
  : parseConfig(["SENDER_CONCURRENCY"], {}).SENDER_CONCURRENCY;

/** A valid US test number: +1 212 555 xxxx, `i` modulo 10,000. */
export const testNumber = (i: number): string => `+1212555${String(i % 10_000).padStart(4, "0")}`;
