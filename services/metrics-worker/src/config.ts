/** Every variable the metrics-worker reads (README "Configuration"); nothing else. */
export const METRICS_WORKER_CONFIG_KEYS = [
  "DATABASE_URL",
  "REDIS_URL",
  "QUEUE_PREFIX",
  "LOG_LEVEL",
  "METRICS_WORKER_PORT",
  "METRICS_RECONCILE_INTERVAL_SECONDS",
  "METRICS_RECONCILE_AFTER_SECONDS",
] as const;
