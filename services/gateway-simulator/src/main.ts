import { loadConfig } from "@inboxerr/config";
import { createHttpServer, describeListenError, LISTEN_FAILED_EXIT_CODE } from "@inboxerr/http";
import { createLogger } from "@inboxerr/logger";
import { createSimulatorApp } from "./app";

const config = loadConfig([
  "SIMULATOR_PORT",
  "SMSGATE_USERNAME",
  "SMSGATE_PASSWORD",
  "SMSGATE_DEVICE_ID",
  "SMSGATE_WEBHOOK_SIGNING_KEY",
  "SIMULATOR_LATENCY_MS",
  "SIMULATOR_FAILURE_RATE",
  "SIMULATOR_RATE_LIMIT",
  "SIMULATOR_SEED",
  "LOG_LEVEL",
  "LOG_MESSAGE_TEXT",
] as const);

const logger = createLogger({
  service: "gateway-simulator",
  level: config.LOG_LEVEL,
  logMessageText: config.LOG_MESSAGE_TEXT,
});

const simulator = createSimulatorApp({
  username: config.SMSGATE_USERNAME,
  password: config.SMSGATE_PASSWORD,
  signingKey: config.SMSGATE_WEBHOOK_SIGNING_KEY,
  latencyMs: config.SIMULATOR_LATENCY_MS,
  failureRate: config.SIMULATOR_FAILURE_RATE,
  rateLimit: config.SIMULATOR_RATE_LIMIT,
  seed: config.SIMULATOR_SEED,
  // The sender pins this id on every send; the simulator's own device should match it.
  deviceId: config.SMSGATE_DEVICE_ID,
  logger,
  defaultMetrics: true,
});

// Bounded header, request and keep-alive timeouts, like every other service (packages/http).
const server = createHttpServer(simulator.app);
server.on("error", (err) => {
  const line = describeListenError(err, config.SIMULATOR_PORT, { service: "gateway-simulator", portSetting: "SIMULATOR_PORT" });
  if (line) {
    process.stderr.write(`${line}\n`);
    process.exit(LISTEN_FAILED_EXIT_CODE);
  }
  logger.fatal({ err }, "server error");
  process.exit(1);
});
server.listen(config.SIMULATOR_PORT, () => {
  logger.info(
    {
      port: config.SIMULATOR_PORT,
      latencyMs: config.SIMULATOR_LATENCY_MS,
      failureRate: config.SIMULATOR_FAILURE_RATE,
      rateLimit: config.SIMULATOR_RATE_LIMIT,
    },
    "gateway simulator listening",
  );
});

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, "shutting down");
  // Order: stop accepting requests, stop timers and webhook delivery, then exit.
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  await simulator.close();
  // Keep-alive clients may hold sockets open; do not let them delay the exit for long.
  const bound = new Promise<void>((resolve) => setTimeout(resolve, 5000).unref());
  await Promise.race([closed, bound]);
  server.closeAllConnections();
  logger.info("stopped");
  process.exit(0);
}

process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));
