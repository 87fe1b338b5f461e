import { z } from "zod";

const port = (fallback: number) => z.coerce.number().int().min(1).max(65535).default(fallback);
const bool = (fallback: boolean) =>
  z
    .enum(["true", "false", "1", "0", "yes", "no"])
    .default(fallback ? "true" : "false")
    .transform((v) => v === "true" || v === "1" || v === "yes");
const url = (protocols: string[]) =>
  z.string().refine((v) => {
    try {
      return protocols.includes(new URL(v).protocol);
    } catch {
      return false;
    }
  }, `must be a ${protocols.join(" or ")} URL`);
const secret = (min: number) => z.string().min(min, `must be at least ${min} characters`);

/**
 * Every environment variable Inboxerr reads, with its validation and default.
 * Each service picks the ones it needs, so a worker never demands the api's JWT secret.
 */
export const fields = {
  NODE_ENV: z.enum(["development", "test", "production"]).default("development"),
  DATABASE_URL: url(["postgres:", "postgresql:"]).default("postgres://postgres@127.0.0.1:5432/inboxerr"),
  REDIS_URL: url(["redis:", "rediss:"]).default("redis://127.0.0.1:6379"),
  // Renaming the prefix strands queued jobs: the sweeper re-enqueues them from Postgres.
  // The braces keep every key in one Redis Cluster slot and change nothing on a single Redis.
  QUEUE_PREFIX: z.string().min(1).default("{inboxerr}"),
  JWT_SECRET: secret(32),
  JWT_EXPIRES_IN: z.coerce.number().int().positive().default(3600),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  LOG_MESSAGE_TEXT: bool(false),
  DEFAULT_PHONE_REGION: z
    .string()
    .regex(/^[A-Z]{2}$/, "must be an ISO 3166-1 alpha-2 region such as US or GB")
    .default("US"),
  API_PORT: port(3000),
  // Express "trust proxy": false, true, a hop count, or addresses/subnets of your proxies.
  // Login rate limits key on the client IP, which behind a proxy is only known through it.
  TRUST_PROXY: z
    .string()
    .default("false")
    .transform((v): boolean | number | string =>
      v === "true" ? true : v === "false" ? false : /^\d+$/.test(v) ? Number(v) : v,
    ),
  WEBHOOK_INGEST_PORT: port(3001),
  SIMULATOR_PORT: port(3002),
  SENDER_PORT: port(3003),
  METRICS_WORKER_PORT: port(3004),
  WEBHOOK_DISPATCHER_PORT: port(3005),
  // ADR 0017: AES-256-GCM key for gateway account secrets stored in Postgres; 32 bytes, base64.
  // Optional: only storing an account with a password or signing key needs it.
  SECRETS_KEY: z
    .string()
    .refine((v) => Buffer.from(v, "base64").length === 32, "must be 32 bytes, base64 (pnpm secrets prints one)")
    .optional(),
  SMSGATE_URL: url(["http:", "https:"]).default("http://127.0.0.1:3002/3rdparty/v1"),
  SMSGATE_USERNAME: z.string().min(1).default("inboxerr"),
  SMSGATE_PASSWORD: z.string().min(1),
  SMSGATE_DEVICE_ID: z.string().min(1).optional(),
  SMSGATE_SIM_NUMBER: z.coerce.number().int().min(1).max(3).optional(),
  SMSGATE_WEBHOOK_SIGNING_KEY: secret(16),
  SMSGATE_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
  PUBLIC_WEBHOOK_URL: url(["http:", "https:"]).default("http://127.0.0.1:3001/webhooks/sms-gate"),
  SENDER_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(200),
  SENDER_RATE_LIMIT: z.coerce.number().int().min(0).default(0),
  // ADR 0019: attempts (gateway ids) per message, the first included; a new attempt follows
  // only one that provably never left the phone. Keep it equal in every service. 3 is
  // DEFAULT_SEND_MAX_ATTEMPTS in @inboxerr/db (this package cannot import it), which a
  // sender-worker test keeps equal.
  SEND_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(3),
  SWEEPER_STALE_SECONDS: z.coerce.number().int().min(5).default(120),
  SWEEPER_INTERVAL_SECONDS: z.coerce.number().positive().default(10),
  // Discovery (issue 15): how often the sender-worker re-reads every active account's devices.
  SENDER_SYNC_SECONDS: z.coerce.number().positive().default(60),
  // Health and failover (issue 16, ADR 0022): a device unseen (no system:ping, no newer lastSeen
  // from GET /devices) this long puts its senders offline; an attempt an offline sender accepted
  // and has not sent this long after acceptance is cancelled at the gateway and, once the cancel
  // is confirmed, tried elsewhere. The health pass runs every SENDER_OFFLINE_AFTER_SECONDS / 10
  // (1 to 30 s).
  SENDER_OFFLINE_AFTER_SECONDS: z.coerce.number().positive().default(600),
  FAILOVER_AFTER_SECONDS: z.coerce.number().positive().default(900),
  // ADR 0008: metrics-worker counts, from Postgres, events published this long ago that no
  // queue copy applied (Redis lost them); checked every interval.
  METRICS_RECONCILE_INTERVAL_SECONDS: z.coerce.number().positive().default(30),
  METRICS_RECONCILE_AFTER_SECONDS: z.coerce.number().positive().default(60),
  // Customers' webhooks (issue 17, ADR 0023). One attempt's whole time, connect to last byte.
  WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000),
  // An endpoint whose deliveries fail without one success for this long is disabled
  // (fractions allowed: tests use seconds' worth).
  WEBHOOK_DISABLE_AFTER_DAYS: z.coerce.number().positive().default(5),
  // http:// endpoints (else https only), and targets resolving to loopback, private,
  // link-local or metadata addresses: both off in production, on in the dev .env.example.
  WEBHOOK_ALLOW_INSECURE: bool(false),
  WEBHOOK_ALLOW_PRIVATE_TARGETS: bool(false),
  // A delivery's attempts, in seconds: the first is due this[0] after the event, attempt n+1
  // this[n] after attempt n failed (±20% jitter); past the last, `exhausted`. The default's
  // 8 attempts span ~28 h, past a day-long outage of the customer's server. Tests compress it.
  WEBHOOK_RETRY_SCHEDULE: z
    .string()
    .default("0,5,300,1800,7200,18000,36000,36000")
    .transform((v, ctx) => {
      const parts = v.split(",").map((s) => s.trim());
      const steps = parts.map(Number);
      // Number("") is 0: an empty step ("", "0,,5") would pass as an immediate retry.
      if (parts.some((s) => s === "") || steps.some((n) => !Number.isFinite(n) || n < 0)) {
        ctx.addIssue({ code: "custom", message: "must be comma-separated seconds, e.g. 0,5,300" });
        return z.NEVER;
      }
      return steps;
    }),
  // Deliveries in flight at once per dispatcher replica, and per endpoint within that, so a
  // slow or dead endpoint holds at most this many of the replica's slots.
  WEBHOOK_CONCURRENCY: z.coerce.number().int().min(1).max(2000).default(200),
  WEBHOOK_ENDPOINT_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(10),
  // ADR 0023: webhook-dispatcher fans out, from Postgres, message events published this long
  // ago that its queue never delivered (Redis lost them); checked every interval.
  WEBHOOK_RECONCILE_INTERVAL_SECONDS: z.coerce.number().positive().default(30),
  WEBHOOK_RECONCILE_AFTER_SECONDS: z.coerce.number().positive().default(60),
  SIMULATOR_LATENCY_MS: z.coerce.number().int().min(0).default(200),
  SIMULATOR_FAILURE_RATE: z.coerce.number().min(0).max(1).default(0.05),
  SIMULATOR_RATE_LIMIT: z.coerce.number().int().min(0).default(0),
  SIMULATOR_SEED: z.string().min(1).default("inboxerr"),
  SIMULATOR_DEVICES: z.coerce.number().int().min(1).max(100).default(2),
  SIMULATOR_SIMS_PER_DEVICE: z.coerce.number().int().min(1).max(3).default(1),
  SIMULATOR_PING_SECONDS: z.coerce.number().min(0).default(60),
  // "user:pass[:signingKey],user2:pass2": accounts besides SMSGATE_USERNAME's.
  SIMULATOR_ACCOUNTS: z.string().default(""),
} as const;

export type FieldName = keyof typeof fields;
