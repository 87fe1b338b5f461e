import type { Config } from "@inboxerr/config";

/** Every variable the sender-worker reads; nothing else is demanded at boot. */
export const SENDER_CONFIG_KEYS = [
  "DATABASE_URL",
  "REDIS_URL",
  "QUEUE_PREFIX",
  "LOG_LEVEL",
  "LOG_MESSAGE_TEXT",
  "SENDER_PORT",
  "SENDER_CONCURRENCY",
  "SENDER_RATE_LIMIT",
  // ADR 0019: a refused attempt is followed by a new one up to this many attempts per message.
  "SEND_MAX_ATTEMPTS",
  "SWEEPER_STALE_SECONDS",
  "SWEEPER_INTERVAL_SECONDS",
  "SENDER_SYNC_SECONDS",
  "SENDER_OFFLINE_AFTER_SECONDS",
  "FAILOVER_AFTER_SECONDS",
  // Opens stored gateway account passwords for the periodic sync (ADR 0017).
  "SECRETS_KEY",
  "SMSGATE_URL",
  "SMSGATE_USERNAME",
  "SMSGATE_PASSWORD",
  "SMSGATE_DEVICE_ID",
  "SMSGATE_SIM_NUMBER",
  "SMSGATE_TIMEOUT_MS",
] as const;

export type SenderConfig = Config<(typeof SENDER_CONFIG_KEYS)[number]>;
