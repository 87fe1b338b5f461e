import { waitAtMost } from "@inboxerr/batch";
import { loadConfig } from "@inboxerr/config";
import { closeServer, listenOrExit, onShutdownSignal } from "@inboxerr/http";
import { createLogger } from "@inboxerr/logger";
import { createSimulatorApp } from "./app";
import { SIMULATOR_CONFIG_KEYS } from "./config";
import { parseAccounts } from "./fleet/accounts";

const config = loadConfig(SIMULATOR_CONFIG_KEYS);
const logger = createLogger({ service: "gateway-simulator", level: config.LOG_LEVEL, logMessageText: config.LOG_MESSAGE_TEXT });

const simulator = createSimulatorApp({
  username: config.SMSGATE_USERNAME,
  password: config.SMSGATE_PASSWORD,
  signingKey: config.SMSGATE_WEBHOOK_SIGNING_KEY,
  latencyMs: config.SIMULATOR_LATENCY_MS,
  failureRate: config.SIMULATOR_FAILURE_RATE,
  rateLimit: config.SIMULATOR_RATE_LIMIT,
  seed: config.SIMULATOR_SEED,
  accounts: parseAccounts(config.SIMULATOR_ACCOUNTS),
  devices: config.SIMULATOR_DEVICES,
  simsPerDevice: config.SIMULATOR_SIMS_PER_DEVICE,
  pingIntervalMs: config.SIMULATOR_PING_SECONDS * 1000,
  // The sender pins this id on every send; the primary account's first device should match it.
  deviceId: config.SMSGATE_DEVICE_ID,
  logger,
  defaultMetrics: true,
});

const { server, port } = await listenOrExit(simulator.app, config.SIMULATOR_PORT, {
  service: "gateway-simulator",
  portSetting: "SIMULATOR_PORT",
});
logger.info(
  { port, latencyMs: config.SIMULATOR_LATENCY_MS, failureRate: config.SIMULATOR_FAILURE_RATE, rateLimit: config.SIMULATOR_RATE_LIMIT },
  "gateway simulator listening",
);

// Order: stop accepting requests, stop timers and webhook delivery, then exit.
onShutdownSignal(async (signal) => {
  logger.info({ signal }, "shutting down");
  const closed = closeServer(server);
  await simulator.close();
  // Keep-alive clients may hold sockets open; do not let them delay the exit for long.
  await waitAtMost(closed, 5_000);
  server.closeAllConnections();
  logger.info("stopped");
});
