import { once } from "node:events";
import { setTimeout as delay } from "node:timers/promises";
import { loadConfig } from "@inboxerr/config";
import { createRedis } from "@inboxerr/contracts";
import { createDb, ensureDefaultAccount } from "@inboxerr/db";
import { smsGateDriverFromSettings } from "@inboxerr/gateway";
import { closeServer, createMetricsRegistry, listenOrExit, onShutdownSignal } from "@inboxerr/http";
import { createLogger } from "@inboxerr/logger";
import { createSenderWorker, DEFAULT_TUNING } from "./app";
import { SENDER_CONFIG_KEYS } from "./config";
import { SENDER_DB_OPTIONS } from "./db";

const config = loadConfig(SENDER_CONFIG_KEYS);
const logger = createLogger({ service: "sender-worker", level: config.LOG_LEVEL, logMessageText: config.LOG_MESSAGE_TEXT });

const db = createDb(config.DATABASE_URL, {
  ...SENDER_DB_OPTIONS,
  onError: (err) => logger.warn({ err }, "idle postgres connection error"),
});
const redis = {
  worker: createRedis(config.REDIS_URL, "worker"),
  producer: createRedis(config.REDIS_URL, "producer"),
};
for (const [role, client] of Object.entries(redis)) client.on("error", (err) => logger.warn({ err, role }, "redis connection error"));

// The producer connection fails fast instead of queueing commands; give it a moment to come
// up so the first publishes and sweeper pass do not fail for nothing (a Redis that is down
// at boot is fine: the worker waits for it, and the relay and sweeper catch up later).
await Promise.race([once(redis.producer, "ready"), delay(5_000)]);

const { registry } = createMetricsRegistry("sender-worker");
const driver = smsGateDriverFromSettings(config);
const sender = createSenderWorker({ config, db, redis, driver, logger, registry });
const { server, port } = await listenOrExit(sender.app, config.SENDER_PORT, {
  service: "sender-worker",
  portSetting: "SENDER_PORT",
});

sender.start();
// ADR 0017: the env's SMSGATE_* account as the shared `default` (its secrets stay in the env).
// Best effort: a Postgres that is down at boot delays it to the next boot, never the sending.
ensureDefaultAccount(db.db, config).then(
  (ids) => logger.info(ids, "default gateway account recorded"),
  (err: unknown) => logger.warn({ err }, "could not record the default gateway account; the next boot will"),
);
logger.info(
  { port, concurrency: config.SENDER_CONCURRENCY, rateLimit: config.SENDER_RATE_LIMIT || "none", prefix: config.QUEUE_PREFIX },
  "sender-worker started",
);

// In-flight sends get the gateway timeout plus a margin; the process gets a little more on top.
const graceMs = config.SMSGATE_TIMEOUT_MS + DEFAULT_TUNING.shutdownMarginMs + 10_000;
onShutdownSignal(async (signal) => {
  logger.info({ signal }, "shutting down");
  await sender.close();
  await closeServer(server);
  await Promise.all([redis.worker.quit(), redis.producer.quit()]).catch(() => undefined);
  await db.close();
  logger.info("stopped");
}, graceMs);
