/**
 * The processes that make up Inboxerr, in start order, and the one command each runs.
 * `pnpm start`, the end-to-end test and docker-compose.yml all use this list
 * (a test checks the compose file against it).
 */
export const SERVICES = [
  { name: "gateway-simulator", dir: "services/gateway-simulator", port: "SIMULATOR_PORT" },
  { name: "webhook-ingest", dir: "services/webhook-ingest", port: "WEBHOOK_INGEST_PORT" },
  { name: "api", dir: "services/api", port: "API_PORT" },
  { name: "sender-worker", dir: "services/sender-worker", port: "SENDER_PORT" },
  { name: "metrics-worker", dir: "services/metrics-worker", port: "METRICS_WORKER_PORT" },
] as const;

export type ServiceName = (typeof SERVICES)[number]["name"];

/** What every service's `start` script runs, from its own directory. */
export const SERVICE_COMMAND = ["node", "--import", "tsx", "src/main.ts"] as const;

/** The one-shot migration, from packages/db. */
export const MIGRATE_COMMAND = ["node", "--import", "tsx", "src/migrate.ts"] as const;
export const MIGRATE_DIR = "packages/db";
