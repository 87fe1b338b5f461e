import { loadConfig } from "@inboxerr/config";
import { closeServer, listenOrExit, onShutdownSignal } from "@inboxerr/http";
import { ensureDefaultAccount } from "@inboxerr/db";
import { createLogger } from "@inboxerr/logger";
import { createApp } from "./app";
import { API_CONFIG_KEYS } from "./config";
import { openResources } from "./resources";

const config = loadConfig(API_CONFIG_KEYS);
const logger = createLogger({ service: "api", level: config.LOG_LEVEL, logMessageText: config.LOG_MESSAGE_TEXT });
const resources = openResources(config, logger);
const api = createApp({ config, logger, ...resources });
const { server, port } = await listenOrExit(api.app, config.API_PORT, { service: "api", portSetting: "API_PORT" });
logger.info({ port }, "api listening");
// ADR 0017: the env's SMSGATE_* account as the shared `default`. Not awaited before listening,
// and a failure (Postgres down at boot) only delays it to the next boot.
ensureDefaultAccount(resources.db.db, config).then(
  (ids) => logger.info(ids, "default gateway account recorded"),
  (err: unknown) => logger.warn({ err }, "could not record the default gateway account; the next boot will"),
);

// Order: stop taking requests and let in-flight ones finish (their enqueues included), publish
// the events they committed, then close what they used.
onShutdownSignal(async (signal) => {
  logger.info({ signal }, "api shutting down");
  await closeServer(server);
  await api.close();
  await resources.close();
  logger.info("api stopped");
});
