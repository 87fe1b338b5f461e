import { loadConfig } from "@inboxerr/config";
import { createOutboxQueues, createQueue, createRedis, QUEUE_NAMES, type SmsSendJob } from "@inboxerr/contracts";
import { createDb, parseSecretsKey } from "@inboxerr/db";
import { smsGateDriverFromSettings } from "@inboxerr/gateway";
import { closeServer, listenOrExit, onShutdownSignal } from "@inboxerr/http";
import { createLogger } from "@inboxerr/logger";
import { createWebhookIngest } from "./app";
import { WEBHOOK_INGEST_CONFIG_KEYS } from "./config";
import { createRegistrationGauge } from "./prometheus";
import { createAccountRegistration } from "./registration/accounts";
import { startPeriodicRegistration, startWebhookRegistration } from "./registration/background";
import { registerWebhooks } from "./registration/register";

const config = loadConfig(WEBHOOK_INGEST_CONFIG_KEYS);

const logger = createLogger({ service: "webhook-ingest", level: config.LOG_LEVEL, logMessageText: config.LOG_MESSAGE_TEXT });
const database = createDb(config.DATABASE_URL, {
  applicationName: "webhook-ingest",
  max: 10,
  // The phone waits on every answer: a lock wait or a partition must end in a 503 (the phone
  // retries), never a hang. Server-side cancel at 5 s, client-side give-up at 8 s.
  statementTimeoutMs: 5_000,
  queryTimeoutMs: 8_000,
  onError: (err) => logger.warn({ err }, "idle Postgres connection failed"),
});
const redis = createRedis(config.REDIS_URL, "producer");
redis.on("error", (err) => logger.warn({ err }, "redis connection error"));
const events = createOutboxQueues({ connection: redis, prefix: config.QUEUE_PREFIX });
for (const q of events) q.on("error", (err) => logger.warn({ err, queue: q.name }, "outbox queue error"));
const sends = createQueue<SmsSendJob>(QUEUE_NAMES.smsSend, { connection: redis, prefix: config.QUEUE_PREFIX });
sends.on("error", (err) => logger.warn({ err, queue: sends.name }, "sms-send queue error"));

const secrets = config.SECRETS_KEY ? parseSecretsKey(config.SECRETS_KEY) : null;
const ingest = createWebhookIngest({
  database,
  events,
  sends,
  signingKey: config.SMSGATE_WEBHOOK_SIGNING_KEY,
  maxAttempts: config.SEND_MAX_ATTEMPTS,
  secrets,
  defaultRegion: config.DEFAULT_PHONE_REGION,
  logger,
});
const { server, port } = await listenOrExit(ingest.app, config.WEBHOOK_INGEST_PORT, {
  service: "webhook-ingest",
  portSetting: "WEBHOOK_INGEST_PORT",
});
logger.info({ port }, "webhook-ingest listening");

const driver = smsGateDriverFromSettings(config);
// For every phone of the account, never SMSGATE_DEVICE_ID's alone: discovery makes each of its
// phones a sender and routing sends through all of them, so a pinned registration would never
// hear the others' reports (their messages stuck at accepted) nor their pings.
const registration = startWebhookRegistration({
  register: () => registerWebhooks(driver, { url: config.PUBLIC_WEBHOOK_URL }),
  logger,
  onState: createRegistrationGauge(ingest.registry),
});
// Every other active account with a signing key, at PUBLIC_WEBHOOK_URL/<account id>: on the
// discovery cadence, so an account added later has its phones and its webhooks within one period.
const accounts = createAccountRegistration({
  db: database,
  secrets,
  publicUrl: config.PUBLIC_WEBHOOK_URL,
  timeoutMs: config.SMSGATE_TIMEOUT_MS,
  logger,
});
const accountRegistration = startPeriodicRegistration({
  pass: () => accounts.runOnce(),
  intervalMs: config.SENDER_SYNC_SECONDS * 1_000,
  logger,
});

// Stop taking webhooks first (the phone retries elsewhere or later), then finish the ones in
// hand and their outbox publishes, then close the connections they used.
onShutdownSignal(async (signal) => {
  logger.info({ signal }, "shutting down");
  registration.stop();
  // Not awaited: a pass in flight ends on its own (its gateway calls are bounded).
  void accountRegistration.stop();
  await closeServer(server);
  await ingest.close();
  await Promise.all([...events, sends].map((q) => q.close().catch(() => undefined)));
  await redis.quit().catch(() => undefined);
  await database.close();
});
