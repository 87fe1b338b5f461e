/** Every variable webhook-ingest reads (README "Configuration"); nothing else. */
export const WEBHOOK_INGEST_CONFIG_KEYS = [
  "DATABASE_URL",
  "REDIS_URL",
  "QUEUE_PREFIX",
  "LOG_LEVEL",
  "LOG_MESSAGE_TEXT",
  "DEFAULT_PHONE_REGION",
  "WEBHOOK_INGEST_PORT",
  "SMSGATE_URL",
  "SMSGATE_USERNAME",
  "SMSGATE_PASSWORD",
  "SMSGATE_WEBHOOK_SIGNING_KEY",
  "SMSGATE_TIMEOUT_MS",
  "PUBLIC_WEBHOOK_URL",
  "SECRETS_KEY",
  "SEND_MAX_ATTEMPTS",
  "SENDER_SYNC_SECONDS",
] as const;

/** What `register-webhooks` (src/cli/register.ts) reads: the gateway and the URL to register. */
export const REGISTER_CONFIG_KEYS = [
  "SMSGATE_URL",
  "SMSGATE_USERNAME",
  "SMSGATE_PASSWORD",
  "SMSGATE_TIMEOUT_MS",
  "PUBLIC_WEBHOOK_URL",
] as const satisfies readonly (typeof WEBHOOK_INGEST_CONFIG_KEYS)[number][];
