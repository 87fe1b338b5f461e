import { loadConfig } from "@inboxerr/config";
import { createRedis } from "@inboxerr/contracts";
import { createDb } from "@inboxerr/db";
import { closeServer, listenOrExit, onShutdownSignal } from "@inboxerr/http";
import { createLogger } from "@inboxerr/logger";
import { createMetricsWorker } from "./app";
import { METRICS_WORKER_CONFIG_KEYS } from "./config";

const config = loadConfig(METRICS_WORKER_CONFIG_KEYS);

const logger = createLogger({ service: "metrics-worker", level: config.LOG_LEVEL });
const database = createDb(config.DATABASE_URL, {
  applicationName: "metrics-worker",
  max: 4,
  // A hung upsert would stall every job of its batch (their locks keep renewing, so BullMQ
  // never sees them stall): cancel it and let the jobs retry.
  statementTimeoutMs: 15_000,
  queryTimeoutMs: 20_000,
  onError: (err) => logger.warn({ err }, "idle Postgres connection failed"),
});
const connection = createRedis(config.REDIS_URL, "worker");
connection.on("error", (err) => logger.warn({ err }, "redis connection error"));

const metricsWorker = createMetricsWorker({
  db: database.db,
  connection,
  prefix: config.QUEUE_PREFIX,
  logger,
  reconcile: {
    intervalMs: config.METRICS_RECONCILE_INTERVAL_SECONDS * 1000,
    afterMs: config.METRICS_RECONCILE_AFTER_SECONDS * 1000,
  },
});
const { server, port } = await listenOrExit(metricsWorker.app, config.METRICS_WORKER_PORT, {
  service: "metrics-worker",
  portSetting: "METRICS_WORKER_PORT",
});
metricsWorker.start();
logger.info({ port }, "metrics-worker consuming metrics-events (and the legacy message-events)");

// Stop fetching and commit the batch in hand before the connections it needs go away.
onShutdownSignal(async (signal) => {
  logger.info({ signal }, "shutting down");
  await metricsWorker.close();
  await closeServer(server);
  await connection.quit().catch(() => undefined);
  await database.close();
});
