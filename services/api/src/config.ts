import type { Config } from "@inboxerr/config";

/** The environment the api reads (README "Configuration"); nothing else. */
export const API_CONFIG_KEYS = [
  "DATABASE_URL",
  "REDIS_URL",
  "QUEUE_PREFIX",
  "JWT_SECRET",
  "JWT_EXPIRES_IN",
  "LOG_LEVEL",
  "LOG_MESSAGE_TEXT",
  "DEFAULT_PHONE_REGION",
  "API_PORT",
  "TRUST_PROXY",
  // ADR 0017: stored gateway secrets, and the env account the api records at boot; its
  // password and the gateway timeout for POST /gateway-accounts/{id}/sync.
  "SECRETS_KEY",
  "SMSGATE_URL",
  "SMSGATE_USERNAME",
  "SMSGATE_PASSWORD",
  "SMSGATE_DEVICE_ID",
  "SMSGATE_SIM_NUMBER",
  "SMSGATE_TIMEOUT_MS",
  // ADR 0023: which customers' webhook URLs an endpoint may have (checked again at delivery).
  "WEBHOOK_ALLOW_INSECURE",
  "WEBHOOK_ALLOW_PRIVATE_TARGETS",
] as const;

export type ApiConfig = Config<(typeof API_CONFIG_KEYS)[number]>;
