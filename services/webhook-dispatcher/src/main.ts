import { loadConfig } from "@inboxerr/config";
import { createRedis } from "@inboxerr/contracts";
import { createDb, parseSecretsKey } from "@inboxerr/db";
import { closeServer, listenOrExit, onShutdownSignal } from "@inboxerr/http";
import { createLogger } from "@inboxerr/logger";
import { createWebhookDispatcher } from "./app";
import { WEBHOOK_DISPATCHER_CONFIG_KEYS } from "./config";
import { deriveBatchCompleted, EVENT_SOURCES } from "./fanout/wiring";

const config = loadConfig(WEBHOOK_DISPATCHER_CONFIG_KEYS);

const logger = createLogger({ service: "webhook-dispatcher", level: config.LOG_LEVEL });
const database = createDb(config.DATABASE_URL, {
  applicationName: "webhook-dispatcher",
  max: 6,
  statementTimeoutMs: 15_000,
  queryTimeoutMs: 20_000,
  onError: (err) => logger.warn({ err }, "idle Postgres connection failed"),
});
const connection = createRedis(config.REDIS_URL, "worker");
connection.on("error", (err) => logger.warn({ err }, "redis connection error"));

const dispatcher = createWebhookDispatcher({
  db: database.db,
  connection,
  prefix: config.QUEUE_PREFIX,
  logger,
  delivery: {
    timeoutMs: config.WEBHOOK_TIMEOUT_MS,
    schedule: config.WEBHOOK_RETRY_SCHEDULE,
    concurrency: config.WEBHOOK_CONCURRENCY,
    endpointConcurrency: config.WEBHOOK_ENDPOINT_CONCURRENCY,
    disableAfterDays: config.WEBHOOK_DISABLE_AFTER_DAYS,
    policy: { allowInsecure: config.WEBHOOK_ALLOW_INSECURE, allowPrivate: config.WEBHOOK_ALLOW_PRIVATE_TARGETS },
    secretsKey: config.SECRETS_KEY ? parseSecretsKey(config.SECRETS_KEY) : undefined,
  },
  sources: EVENT_SOURCES,
  derive: deriveBatchCompleted,
  reconcile: { intervalMs: config.WEBHOOK_RECONCILE_INTERVAL_SECONDS * 1000, afterMs: config.WEBHOOK_RECONCILE_AFTER_SECONDS * 1000 },
  // Attempts in flight finish (each bounded by WEBHOOK_TIMEOUT_MS) before the process exits.
  closeTimeoutMs: config.WEBHOOK_TIMEOUT_MS + 2_000,
});
const { server, port } = await listenOrExit(dispatcher.app, config.WEBHOOK_DISPATCHER_PORT, {
  service: "webhook-dispatcher",
  portSetting: "WEBHOOK_DISPATCHER_PORT",
});
dispatcher.start();
logger.info({ port }, "webhook-dispatcher consuming webhook-events and delivering");

// Stop fetching and delivering, record what is in flight, then let the connections go.
onShutdownSignal(async (signal) => {
  logger.info({ signal }, "shutting down");
  await dispatcher.close();
  await closeServer(server);
  await connection.quit().catch(() => undefined);
  await database.close();
});
